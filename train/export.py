"""Writing what a training run produces: models, metadata, curves, confusion matrix, bad-files report."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import platform
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from monitor.core.metadata import ModelMetadata  # noqa: E402


def save_models(classifier, out_dir: Path) -> dict[str, str]:
    """The inference model as .keras (uncompiled, no augmentation) and as float32 .tflite."""
    import tensorflow as tf

    keras_path, tflite_path = out_dir / "model.keras", out_dir / "model.tflite"
    classifier.save(keras_path)
    converter = tf.lite.TFLiteConverter.from_keras_model(classifier)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every captured tensor
        tflite_path.write_bytes(converter.convert())
    return {"keras": keras_path.name, "tflite": tflite_path.name}


def build_metadata(classes: list[str], rule, faces: str, files: dict, command: str, data: dict, training: dict) -> ModelMetadata:
    """Everything needed to use the model right and to know where it came from (metrics added later)."""
    from monitor.vision.detect import DetectorSettings, PictureSearch

    return ModelMetadata(
        format=1,
        classes=tuple(classes),
        input={"size": rule.size, "channels": 1, "color": "gray", "pixel_range": [0, 255], "scaling": "inside the model"},
        crop_rule=rule.to_dict(),
        faces=faces,
        detector=asdict(DetectorSettings()),
        picture_search=tuple(PictureSearch.STEPS),  # how --faces detect/auto found faces in larger pictures
        files=files,
        command=command,
        data=data,
        training={**training, "device": device_description()},
        versions=versions(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def versions() -> dict[str, str]:
    import cv2
    import keras
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
    }


def device_description() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else f"CPU ({os.cpu_count()} cores)"


def write_bad_files(skipped: list[tuple[str, str]], no_face: list[str], out_dir: Path) -> Path:
    """CSV of every file left out and why, so the user can fix or remove them."""
    path = out_dir / "bad_files.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "reason"])
        w.writerows(skipped)
        w.writerows((p, "no face found") for p in no_face)
    return path


def write_mistakes(rows: list[dict], path: Path) -> Path:
    """CSV of the pictures an evaluation judged wrong (see `train.evaluate.mistakes`)."""
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "true", "predicted", "confidence", "p_true"])
        w.writeheader()
        w.writerows(rows)
    return path


@contextlib.contextmanager
def any_script(texts: list[str]) -> Iterator:
    """Plot these texts in fonts that have their letters (DejaVu Sans, then any CJK font here), with no 'Glyph missing' warning.

    Yields how to write a text so it can be drawn: itself, or its letters no font has as escaped code points.
    """
    from matplotlib import font_manager

    from monitor.vision.text import BUNDLED_NAME, as_drawn, bundled_font, runs

    families = []
    for font in dict.fromkeys(f for t in texts for _, f in runs(t) if f != bundled_font()):
        font_manager.fontManager.addfont(str(font))
        families.append(font_manager.FontProperties(fname=str(font)).get_name())
    with plt.rc_context({"font.family": [BUNDLED_NAME, *families]}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        yield as_drawn


def plot_curves(history: dict, out_dir: Path) -> Path:
    """Loss and accuracy per epoch, train and validation."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, history.get(key, []), label=f"train {key}")
        ax.plot(epochs, history.get(f"val_{key}", []), label=f"val {key}")
        if key == "accuracy" and "val_balanced_accuracy" in history:
            ax.plot(epochs, history["val_balanced_accuracy"], label="val balanced accuracy")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = out_dir / "curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(metrics: dict, out_dir: Path, title: str) -> Path:
    """Confusion matrix with counts and row-normalised colours."""
    labels, cm = metrics["confusion"]["labels"], np.array(metrics["confusion"]["matrix"])
    with any_script(labels + [title]) as shown:
        return _plot_confusion(cm, [shown(c) for c in labels], metrics["balanced_accuracy"], out_dir, shown(title))


def _plot_confusion(cm: np.ndarray, labels: list[str], balanced_accuracy: float, out_dir: Path, title: str) -> Path:
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.6 * len(labels)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(f"{title}\nbalanced accuracy {balanced_accuracy:.3f}")
    fig.tight_layout()
    path = out_dir / "confusion.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
