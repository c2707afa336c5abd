"""The network: a compact VGG-style CNN with scaling as its first layer; augmentation (train/data/augment.py) in front while training."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


def conv_block(x, filters: int, dropout: float):
    """Two 3x3 convolutions with batch norm, then halve the resolution."""
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.MaxPooling2D()(x)
    return layers.Dropout(dropout)(x)


DEFAULT_WIDTHS = (32, 64, 128, 192)


def build_classifier(num_classes: int, size: int = 48, widths: tuple[int, ...] = DEFAULT_WIDTHS) -> keras.Model:
    """Face crop (size x size x 1, gray values 0-255) -> class probabilities.

    Scaling to [0, 1] is the first layer, so whatever feeds the model passes raw pixels.
    `widths` gives the filters of each block; every block halves the resolution.
    """
    inputs = keras.Input((size, size, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for i, filters in enumerate(widths):
        x = conv_block(x, filters, dropout=0.1 + 0.1 * min(i, 2))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="emotion_cnn")


def widths_of(classifier: keras.Model) -> tuple[int, ...]:
    """The block widths a `build_classifier` network was made with (read from its layers)."""
    convs = [layer.filters for layer in classifier.layers if isinstance(layer, layers.Conv2D)]
    return tuple(convs[::2])


def with_augmentation(classifier: keras.Model) -> keras.Model:
    """The training model: augmentation in front of the classifier (weights shared)."""
    from train.data.augment import augmentation  # needs TensorFlow; the network itself runs on any Keras backend

    inputs = keras.Input(classifier.input_shape[1:], name="face")
    return keras.Model(inputs, classifier(augmentation()(inputs)), name="training_model")


def with_flip_average(classifier: keras.Model) -> keras.Model:
    """The classifier averaged over the face and its mirror image (test-time flip averaging).

    Faces are roughly symmetric, so both views are valid inputs; averaging them removes some
    left/right noise. Each face and its mirror go through the network as one batch of two, so
    every layer runs once per call (cheaper than two calls of one).
    """
    shape, k = classifier.input_shape[1:], classifier.output_shape[-1]
    inputs = keras.Input(shape, name="face")
    pairs = keras.ops.stack([inputs, keras.ops.flip(inputs, axis=2)], axis=1)  # (n, 2, h, w, 1)
    probs = classifier(keras.ops.reshape(pairs, (-1, *shape)))
    outputs = keras.ops.mean(keras.ops.reshape(probs, (-1, 2, k)), axis=1)
    return keras.Model(inputs, outputs, name=f"{classifier.name}_flip_average")


def copy_features(source: keras.Model, target: keras.Model, seed: int = 0, noise: float = 0.01) -> int:
    """Copy every layer's weights but the output layer's from `source` into `target`.

    Lets a model for few classes start from features learnt on more faces (say all seven
    FER classes). Both must come from `build_classifier` with the same number of blocks (the
    input size may differ: no weight depends on it); where `target` is wider, `source` is
    widened into it (see `widened`), so a bigger network starts from what a smaller one
    learnt. Returns the number of layers copied; raises ValueError when the networks differ
    otherwise.
    """
    old, new = widths_of(source), widths_of(target)
    if len(old) != len(new) or any(b < a for a, b in zip(old, new)):
        raise ValueError(f"widths {widths_text(new)} against its {widths_text(old)}: a network can only be widened, block for block")
    src = [layer for layer in source.layers if layer.name != "probabilities"]
    dst = [layer for layer in target.layers if layer.name != "probabilities"]
    if len(src) != len(dst):
        raise ValueError(f"{len(src)} layers against {len(dst)}")
    rng = np.random.default_rng(seed)
    copied, channels = 0, None  # channels: which source channel each of the current layer input's channels copies
    for a, b in zip(src, dst):
        weights = a.get_weights()
        if not weights:
            continue
        weights, channels = widened(a, weights, channels, b, rng, noise)
        if [w.shape for w in weights] != [w.shape for w in b.get_weights()]:
            raise ValueError(f"layer {a.name} does not match {b.name}")
        b.set_weights(weights)
        copied += 1
    return copied


def widened(layer, weights: list, channels, target, rng, noise: float = 0.01) -> tuple[list, np.ndarray | None]:
    """One layer's weights fitted to `target`'s wider shape so that the network computes the same function.

    Net2WiderNet (Chen, Goodfellow and Shlens, ICLR 2016): a new channel copies a random old
    one, and the layer that reads them splits that channel's outgoing weights between its
    copies. The split is random (not halves) and each copy's incoming weights get `noise` (a
    fraction of their spread), so that copies part ways in training; the function is unchanged
    up to that noise. `channels` maps the input's channels to the source's.
    """
    if isinstance(layer, layers.BatchNormalization):
        return ([w[channels] for w in weights] if channels is not None else weights), channels
    kernel, *rest = weights
    if channels is not None:  # the input is wider: each copy of a channel carries its share
        share = _shares(channels, rng)
        kernel = np.take(kernel, channels, axis=-2) * share.reshape((-1, 1))
    wanted = target.weights[0].shape[-1]  # the kernel's shape, without copying the weights
    if isinstance(layer, layers.Dense) or wanted == kernel.shape[-1]:
        return [kernel, *rest], None
    old = kernel.shape[-1]
    out = np.concatenate([np.arange(old), rng.integers(0, old, wanted - old)])
    kernel = np.take(kernel, out, axis=-1)
    kernel[..., old:] += rng.normal(0, noise * kernel.std(), kernel[..., old:].shape)  # AdamW's updates ignore the split's scale
    return [kernel, *(w[out] for w in rest)], out


def _shares(channels: np.ndarray, rng) -> np.ndarray:
    """For each channel, its share of the source channel it copies: random, summing to 1 over the copies."""
    raw = rng.uniform(0.5, 1.5, len(channels))
    totals = np.bincount(channels, weights=raw)
    return (raw / totals[channels]).astype(np.float32)


def widths_text(widths: tuple[int, ...]) -> str:
    """(32, 64) -> '32,64', as --widths takes them."""
    return ",".join(map(str, widths))


def with_temperature(model: keras.Model, temperature: float) -> keras.Model:
    """`model` with calibrated confidence: its logits divided by `temperature` (see train/calibrate.py).

    log(p) is the logit up to a per-face constant, so softmax(log(p) / T) scales any model
    that ends in a softmax (the flip-averaged one too). Labels never change, only confidence.
    """
    inputs = keras.Input(model.input_shape[1:], name="face")
    p = model(inputs)
    outputs = keras.ops.softmax(keras.ops.log(keras.ops.maximum(p, 1e-7)) / temperature)
    return keras.Model(inputs, outputs, name=f"{model.name}_calibrated")


def base_network(model: keras.Model) -> keras.Model:
    """The `build_classifier` network inside a saved model (which may be calibrated and/or flip-averaged)."""
    if model.name == "emotion_cnn":
        return model
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return base_network(layer)
    return model
