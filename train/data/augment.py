"""Training-time augmentation as Keras layers: what a real camera and a real detector do to a face.

FER-2013's crops are clean, centred and sharp; faces found by the Haar detector in a webcam
or phone video are framed a few pixels differently every frame, and far faces are small,
blurred and compressed. The augmentation block shows the network all of that while it
learns, so a label does not flip with detector noise or image quality. Every layer is active
only in training; the saved inference model leaves the whole block out.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


class _PerSampleChoice(layers.Layer):
    """Base: a few degraded variants of the batch, one picked per picture (or the original).

    Computing every variant for the whole batch and gathering one per picture keeps the
    layer vectorised (no per-picture Python loop) at 48x48, where that costs little.
    """

    def __init__(self, rate: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate = rate

    def variants(self, x: tf.Tensor) -> list[tf.Tensor]:
        raise NotImplementedError

    def call(self, x, training=None):
        if not training:
            return x
        options = tf.stack([x, *self.variants(x)])  # (1 + V, n, h, w, c)
        n = tf.shape(x)[0]
        v = tf.shape(options)[0] - 1
        which = tf.random.uniform([n], 0, v, dtype=tf.int32) + 1
        which = tf.where(tf.random.uniform([n]) < self.rate, which, 0)
        return tf.gather_nd(tf.transpose(options, [1, 0, 2, 3, 4]), tf.stack([tf.range(n), which], axis=1))

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


class RandomResolution(_PerSampleChoice):
    """Down- and up-scaling, as for a face far from the camera or a soft video (20-32 px of real detail)."""

    def __init__(self, rate: float = 0.2, sides: tuple[int, ...] = (20, 24, 32), **kwargs) -> None:
        super().__init__(rate, **kwargs)
        self.sides = tuple(sides)

    def variants(self, x):
        size = tf.shape(x)[1:3]
        return [tf.image.resize(tf.image.resize(x, (s, s), method="area"), size, method="bilinear") for s in self.sides]

    def get_config(self) -> dict:
        return {**super().get_config(), "sides": list(self.sides)}


class RandomBlur(_PerSampleChoice):
    """Gaussian blur of a few strengths: focus, motion and low light soften a face."""

    def __init__(self, rate: float = 0.2, sigmas: tuple[float, ...] = (0.5, 0.8, 1.2), **kwargs) -> None:
        super().__init__(rate, **kwargs)
        self.sigmas = tuple(sigmas)

    def variants(self, x):
        out = []
        for sigma in self.sigmas:
            r = int(2 * sigma + 0.5)
            t = tf.range(-r, r + 1, dtype=tf.float32)
            g = tf.exp(-(t**2) / (2.0 * sigma**2))
            g = g / tf.reduce_sum(g)
            kernel = tf.reshape(g[:, None] * g[None, :], (2 * r + 1, 2 * r + 1, 1, 1))
            padded = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="SYMMETRIC")
            out.append(tf.nn.conv2d(padded, kernel, strides=1, padding="VALID"))
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "sigmas": list(self.sigmas)}


class RandomJpeg(layers.Layer):
    """JPEG re-compression at a random quality: webcams and video files are lossy."""

    def __init__(self, rate: float = 0.3, quality: tuple[int, int] = (30, 90), **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate, self.quality = rate, tuple(quality)

    def call(self, x, training=None):
        if not training:
            return x
        lo, hi = self.quality

        def one(image):
            q = tf.random.uniform((), lo, hi + 1, dtype=tf.int32)
            return tf.cast(tf.image.adjust_jpeg_quality(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), q), tf.float32)

        compressed = tf.map_fn(one, x, fn_output_signature=tf.float32)
        keep = tf.random.uniform([tf.shape(x)[0], 1, 1, 1]) >= self.rate
        return tf.where(keep, x, tf.reshape(compressed, tf.shape(x)))

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "quality": list(self.quality)}


def augmentation() -> keras.Sequential:
    """Random changes a face shows at a real camera, in the order they happen.

    Pose and framing first (mirror, tilt, and the detector's scale and shift noise around the
    crop rule), then the camera (lighting, blur, resolution of a far face, compression).
    Values stay in 0-255: the model's own first layer scales them.
    """
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.04, fill_mode="nearest"),  # +-14 degrees
            layers.RandomZoom(0.15, fill_mode="nearest"),  # the box 15 % larger or smaller
            layers.RandomTranslation(0.08, 0.08, fill_mode="nearest"),  # and off-centre by up to 8 %
            layers.RandomContrast(0.3),
            layers.RandomBrightness(0.2, value_range=(0, 255)),
            RandomBlur(),
            RandomResolution(),
            RandomJpeg(),
        ],
        name="augmentation",
    )
