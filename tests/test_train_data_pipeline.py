"""train/data/pipeline.py: crops streamed from disk through the crop rule, mixup, and an order per epoch that a resumed run repeats."""

from __future__ import annotations

import numpy as np

from monitor.core.crop import CropRule
from tests.helpers import make_classes
from train.data.scan import scan


def test_tf_dataset_streams_crops_through_the_crop_rule(tmp_path):
    import numpy as np

    from train.data.pipeline import load_crop, tf_dataset

    make_classes(tmp_path, {"happy": 5, "sad": 5}, size=60)
    s = scan(tmp_path, "whole")
    samples = s.splits["train"]
    ds = tf_dataset(samples, 2, CropRule(), batch_size=4, shuffle=False)
    x, y = next(iter(ds))
    assert x.shape == (4, 48, 48, 1) and y.shape == (4, 2)
    np.testing.assert_array_equal(x.numpy()[0, :, :, 0], load_crop(samples[0], CropRule()).astype("float32"))
    expected = [1.0, 0.0] if samples[0].label == 0 else [0.0, 1.0]
    assert y.numpy()[0].tolist() == expected


def test_mixup_blends_pictures_and_labels_alike_keeping_each_class_dominant():
    import numpy as np
    import tensorflow as tf

    from train.data.pipeline import mixup

    n = 64
    x = np.zeros((n, 4, 4, 1), np.float32) + np.arange(n, dtype=np.float32)[:, None, None, None]  # picture i is all i
    labels = np.arange(n) % 3
    y = np.eye(3, dtype=np.float32)[labels]
    mx, my = (t.numpy() for t in next(iter(mixup(tf.data.Dataset.from_tensors((x, y)), 0.2, seed=1))))
    assert mx.shape == x.shape and my.shape == y.shape
    np.testing.assert_allclose(my.sum(axis=1), 1, atol=1e-6)
    assert (my[np.arange(n), labels] >= 0.5 - 1e-6).all()  # each picture keeps its own class as the larger part
    assert (mx.std(axis=(1, 2, 3)) < 1e-4).all()  # a blend of two flat pictures is flat: the same weight everywhere
    lam = my[np.arange(n), labels]
    blended = lam < 1 - 1e-3
    assert blended.sum() > n // 4  # alpha 0.2 mixes a good share noticeably
    partner = (mx[:, 0, 0, 0] - lam * np.arange(n)) / np.where(blended, 1 - lam, 1)
    assert np.allclose(partner[blended], np.round(partner[blended]), atol=1e-2)  # mixed with a real picture of the batch


def test_each_epoch_has_its_own_order_wherever_the_run_starts(tmp_path):
    """A run resumed at epoch 2 sees epoch 2's pictures in the order an uninterrupted run does (seed 0 too)."""
    import cv2
    import keras

    from monitor.core.crop import CropRule
    from train.data.pipeline import tf_dataset
    from train.data.samples import Sample

    keras.utils.set_random_seed(0)
    for i in range(10):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 48), 20 * i, np.uint8))
    samples = [Sample(str(tmp_path / f"{i}.png"), i % 2) for i in range(10)]

    def order(first):
        ds = tf_dataset(samples, 2, CropRule(), 4, shuffle=True, seed=0, epochs=range(first, 3))
        return [int(v) for x, _ in ds for v in x.numpy()[:, 0, 0, 0]]

    whole, resumed = order(0), order(2)
    assert len(whole) == 30 and whole[20:] == resumed
    assert whole[:10] != whole[10:20] and sorted(whole[:10]) == sorted(whole[10:20])  # reshuffled, every picture once
