"""The training and validation streams: crops decoded from disk batch by batch, as tf.data pipelines."""

from __future__ import annotations

import numpy as np

from monitor.core.crop import CropRule
from monitor.core.types import Box
from monitor.io.pictures import read_gray
from train.data.samples import Sample


def load_crop(sample: Sample, rule: CropRule) -> np.ndarray:
    """The model's input for one sample: decode, then the shared crop rule."""
    gray = read_gray(sample.path)
    return rule.whole(gray) if sample.box is None else rule.crop(gray, sample.box)


def tf_dataset(
    samples: list[Sample],
    num_classes: int,
    rule: CropRule,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    epochs: range | None = None,
    smoothing: dict[str, float] | None = None,
):
    """A tf.data pipeline that streams crops from disk (memory bounded by batch, not data size).

    With `epochs` (training), it is one stream of those epochs' batches, each epoch shuffled by
    its own seed: a run resumed at epoch k sees the same order as one that never stopped.
    `smoothing` ({source: epsilon}, '' for the rest) softens each target towards uniform by its
    source's epsilon: a single annotator's label (a class folder) can be trusted less than ten votes.
    """
    import tensorflow as tf

    paths = np.array([s.path for s in samples])
    boxes = np.array([(-1, -1, -1, -1) if s.box is None else (s.box.x, s.box.y, s.box.w, s.box.h) for s in samples], dtype=np.int32)
    soft = any(s.target is not None for s in samples)
    labels = (
        np.array([s.target if s.target is not None else np.eye(num_classes)[s.label] for s in samples], dtype=np.float32)
        if soft
        else np.array([s.label for s in samples], dtype=np.int32)
    )
    if smoothing is not None:
        eps = np.array([smoothing.get(s.source, smoothing[""]) for s in samples], dtype=np.float32)[:, None]
        labels = (1.0 - eps) * (labels if soft else np.eye(num_classes, dtype=np.float32)[labels]) + eps / num_classes
        soft = True

    def load(path: bytes, box: np.ndarray) -> np.ndarray:
        b = None if box[0] < 0 else Box(*(int(v) for v in box))
        return load_crop(Sample(path.decode(), 0, b), rule)

    def to_example(path, box, label):
        crop = tf.numpy_function(load, [path, box], tf.uint8, stateful=False)
        crop = tf.reshape(tf.cast(crop, tf.float32), (rule.size, rule.size, 1))
        return crop, (label if soft else tf.one_hot(label, num_classes))

    ds = tf.data.Dataset.from_tensor_slices((paths, boxes, labels))
    if epochs is not None:
        columns = (tf.constant(paths), tf.constant(boxes), tf.constant(labels))

        def epoch(e):  # a stateless permutation per (seed, epoch): the same wherever a run starts or resumes
            order = tf.random.experimental.stateless_shuffle(tf.range(len(samples)), seed=tf.stack([tf.constant(seed, tf.int64), e]))
            picked = tf.data.Dataset.from_tensor_slices(order).map(lambda i: tuple(tf.gather(c, i) for c in columns))
            return picked.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)

        return tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(epoch).prefetch(tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(len(samples), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def mixup(batches, alpha: float, seed: int = 0):
    """Blend every training picture with another of its batch, labels alike (mixup, Zhang et al. 2018).

    Soft targets between faces discourage over-confident boundaries on noisy labels such as
    FER's. The blend weight is drawn from Beta(alpha, alpha) and folded to >= 0.5, so each
    mixed picture keeps its own class as the larger part (Keras' class weights follow it).
    """
    import tensorflow as tf

    def blend(x, y):
        n = tf.shape(x)[0]
        a, b = tf.random.gamma([n], alpha, seed=seed), tf.random.gamma([n], alpha, seed=seed + 1)
        lam = tf.where(a + b > 0, tf.maximum(a, b) / (a + b), 1.0)  # Beta(alpha, alpha) folded to [0.5, 1]
        other = tf.random.shuffle(tf.range(n), seed=seed + 2)
        lx, ly = tf.reshape(lam, (-1, 1, 1, 1)), lam[:, None]
        return lx * x + (1 - lx) * tf.gather(x, other), ly * y + (1 - ly) * tf.gather(y, other)

    return batches.map(blend, num_parallel_calls=tf.data.AUTOTUNE)
