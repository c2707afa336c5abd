"""Seconds per training epoch of the project's network on this machine's Keras backend and device.

Made to compare devices where TensorFlow is not installed (a GPU machine with JAX or PyTorch):
it times the network of `train/model.py` with the training command's optimizer and loss on
random faces of the real shape and count. It leaves out what runs in TensorFlow on the CPU
beside the device (reading, decoding, augmentation), so it is the device's share of an epoch.

    KERAS_BACKEND=jax python -m train.step_time --faces 17010 --classes 3
"""

from __future__ import annotations

import argparse
import json
import os
import time

import keras
import numpy as np

from train.model import build_classifier


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self.start)


def step_time(faces: int, classes: int, batch_size: int, epochs: int, size: int = 48) -> dict:
    """Fit on `faces` random faces for `epochs` epochs; the first (compilation) is reported apart."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (faces, size, size, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, classes, faces), classes)
    model = build_classifier(classes, size)
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3, weight_decay=1e-4),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=[timer], verbose=0)
    steady = timer.seconds[1:] or timer.seconds
    return {
        "backend": keras.backend.backend(),
        "device": device_name(),
        "faces": faces,
        "batch_size": batch_size,
        "first_epoch_s": round(timer.seconds[0], 2),
        "seconds_per_epoch": round(float(np.median(steady)), 2),
        "faces_per_s": round(faces / float(np.median(steady)), 1),
    }


def device_name() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.step_time", description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=17010, help="faces per epoch (default: the 3-class FER train split)")
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64])
    parser.add_argument("--epochs", type=int, default=3, help="the first compiles and is reported apart")
    args = parser.parse_args(argv)
    for batch in args.batch_size:
        print(json.dumps(step_time(args.faces, args.classes, batch, args.epochs)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
