"""Finding a model: a shipped model's name, a folder or a file, and the metadata.json beside it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from monitor import program
from monitor.core.crop import CropRule
from monitor.core.errors import UserError

METADATA = "metadata.json"


DEFAULT_MODEL = "happy-neutral-sad"


def models_dir() -> Path:
    """The shipped models: beside the package in a checkout, else where `pip install .` put them."""
    checkout = Path(__file__).resolve().parents[2] / "models"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "emotion-monitor" / "models"


DEFAULT_MODEL_DIR = models_dir() / DEFAULT_MODEL


def shipped_models() -> list[str]:
    """Names of the shipped models (`--model NAME` works from any folder)."""
    folder = models_dir()
    return sorted(p.name for p in folder.iterdir() if (p / METADATA).is_file()) if folder.is_dir() else []


def model_path(path: str | Path | None) -> Path:
    """--model as given: a path, or the bare name of a shipped model when no such path exists here."""
    if not path:
        return DEFAULT_MODEL_DIR
    path = Path(path)
    holds_model = path.is_file() or any((path / f"model{suffix}").is_file() for suffix in (".tflite", ".keras"))
    if not holds_model and len(path.parts) == 1 and (models_dir() / path).is_dir():  # a local folder of that name without a model
        return models_dir() / path
    return path


def resolve(path: str | Path | None, prefer: str = ".tflite") -> Path:
    """A model file from a file or folder argument (a folder holds model.tflite / model.keras)."""
    path = model_path(path)
    if path.is_dir():
        order = [prefer, ".keras", ".tflite"]
        for suffix in order:
            if (path / f"model{suffix}").is_file():
                if suffix != prefer and prefer == ".tflite":
                    print(
                        f"note: {path} has no model.tflite; running model.keras through TensorFlow (slower start, more memory). "
                        f"`{program('train')} export {path} --calibrate` or retraining writes one",
                        file=sys.stderr,
                    )
                return path / f"model{suffix}"
        raise UserError(f"{path}: no model.tflite or model.keras in this folder; train one with `{program('train')} DATA_DIR --out {path}`")
    if not path.is_file():
        names = ", ".join(shipped_models())
        raise UserError(
            f"{path}: model file not found; pass --model with a shipped model's name ({names}), "
            f"a .tflite/.keras file or a folder from `{program('train')}`"
        )
    if path.suffix not in (".tflite", ".keras"):
        raise UserError(f"{path}: not a model file (.tflite or .keras); pass --model with a model file or a folder from `{program('train')}`")
    return path


def read_metadata(model_path: Path) -> dict:
    meta_path = model_path.parent / METADATA
    try:
        meta = json.loads(meta_path.read_text())
        CropRule(**meta["crop_rule"])
        if len(meta["classes"]) < 2:
            raise ValueError("fewer than 2 classes")
    except FileNotFoundError:
        raise UserError(f"{meta_path}: missing; keep the metadata.json that `{program('train')}` wrote beside the model") from None
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{meta_path}: not a valid model metadata file ({err}); retrain or restore it") from None
    return meta
