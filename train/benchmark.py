"""Per-face classification time of a trained model: LiteRT, compiled Keras, and `model.predict` as the baseline."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from monitor.vision.classify import load_classifier
from monitor.vision.models import model_path


def median_ms(fn, x: np.ndarray, repeats: int, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def benchmark(model_dir: Path | None, repeats: int = 200) -> dict[str, float]:
    """Print and return median milliseconds per face for one face and for a batch of 8."""
    folder = model_path(model_dir)  # a shipped model's name works as it does everywhere else
    if folder.is_file():
        folder = folder.parent
    rng = np.random.default_rng(0)
    results: dict[str, float] = {}
    lite = load_classifier(folder, prefer=".tflite")
    size = lite.crop_rule.size
    one = rng.integers(0, 255, (1, size, size)).astype(np.uint8)
    eight = rng.integers(0, 255, (8, size, size)).astype(np.uint8)
    print(
        f"model {folder} on {platform.processor() or platform.machine()}, {os.cpu_count()} cores; median of {repeats} calls after warm-up"
    )
    for name, path in (("litert", folder / "model.tflite"), ("keras-compiled", folder / "model.keras")):
        clf = load_classifier(path)
        results[f"{name} 1 face"] = median_ms(clf.probabilities, one, repeats)
        results[f"{name} batch of 8, per face"] = median_ms(clf.probabilities, eight, repeats) / 8

    import keras

    model = keras.saving.load_model(folder / "model.keras", compile=False)
    x = one.astype(np.float32)[..., None]
    results["baseline model.predict 1 face"] = median_ms(lambda v: model.predict(v, verbose=0), x, max(10, repeats // 10), warmup=3)
    base = results["baseline model.predict 1 face"]
    for name, ms in results.items():
        print(f"  {name:<36} {ms:8.3f} ms   {base / ms:6.1f}x faster than model.predict")
    return results
