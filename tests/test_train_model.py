"""The network: widening a trained model keeps what it computes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from train.model import build_classifier, copy_features, widths_of


def trained_looking(widths: tuple[int, ...], seed: int = 1) -> keras.Model:
    """A small network with non-trivial batch-norm statistics, as a trained one has."""
    model = build_classifier(3, 48, widths)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([g * rng.uniform(0.5, 2, g.shape), rng.normal(0, 0.3, b.shape), rng.normal(0, 0.3, m.shape), rng.uniform(0.5, 2, v.shape)])
    return model


def faces(n: int = 16) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, 48, 48, 1)).astype("float32")


@pytest.mark.parametrize("noise, atol", [(0.0, 1e-5), (0.01, 5e-3)])
def test_a_widened_network_computes_what_the_narrow_one_did(noise, atol):
    narrow = trained_looking((8, 16, 24))
    wide = build_classifier(3, 48, (12, 24, 40))
    assert copy_features(narrow, wide, noise=noise) == 13  # 6 convolutions, 6 batch norms, the dense layer
    wide.get_layer("probabilities").set_weights(narrow.get_layer("probabilities").get_weights())
    before, after = narrow.predict(faces(), verbose=0), wide.predict(faces(), verbose=0)
    assert np.abs(before - after).max() < atol
    assert before.std() > 0.01  # the check means something: the outputs differ between faces
    assert widths_of(wide) == (12, 24, 40)


def test_copies_of_a_channel_are_not_identical_so_training_can_part_them():
    narrow = trained_looking((8, 16, 24))
    wide = build_classifier(3, 48, (16, 16, 24))  # the first convolution doubled
    copy_features(narrow, wide)
    kernel = wide.layers[2].get_weights()[0]  # (3, 3, 1, 16)
    second = wide.layers[5].get_weights()[0]  # (3, 3, 16, 16): reads the copies
    assert not any(np.allclose(kernel[..., i], kernel[..., j]) for i in range(16) for j in range(i + 1, 16))
    assert np.allclose(second[..., :8].sum(axis=2), narrow.layers[5].get_weights()[0].sum(axis=2), atol=1e-5)  # shares add up


@pytest.mark.parametrize("widths", [(4, 16, 24), (8, 16), (8, 16, 24, 32)])
def test_a_narrower_or_differently_deep_network_is_refused(widths):
    with pytest.raises(ValueError, match="can only be widened"):
        copy_features(trained_looking((8, 16, 24)), build_classifier(3, 48, widths))
