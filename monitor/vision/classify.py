"""Classifying a batch of face crops in one call, with the model's classes, crop rule and class bias.

Two interchangeable backends read the same metadata: the exported `.tflite` model through
LiteRT (fast start, no TensorFlow import: what the monitor uses) and the `.keras` model (what
training and evaluation write).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from monitor.core.crop import CropRule
from monitor.core.errors import UserError
from monitor.core.types import Prediction
from monitor.io.native_logs import native_stderr
from monitor.vision.models import read_metadata, resolve


class Classifier:
    """A model and what it needs to be used right: class names, crop rule, input size."""

    def __init__(self, path: Path, metadata: dict, backend) -> None:
        self.path = path
        self.metadata = metadata
        self.classes: tuple[str, ...] = tuple(metadata["classes"])
        self.crop_rule = CropRule(**metadata["crop_rule"])
        self._backend = backend  # the network: float32 faces -> probabilities
        self._bias = bias_factors(metadata)

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(N, size, size) uint8 crops -> (N, classes) float32 probabilities, in one call (the model's class bias applied)."""
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        x = np.asarray(crops, dtype=np.float32).reshape(len(crops), self.crop_rule.size, self.crop_rule.size, 1)
        p = self._backend(x)
        if self._bias is not None:
            p = p * self._bias
            p /= p.sum(axis=1, keepdims=True)
        return p

    def with_class_bias(self, bias: dict[str, float] | None) -> Classifier:
        """The same network at another operating point (replacing the model's own `class_bias`): for choosing one."""
        if bias is None:
            return self
        meta = {**self.metadata, "class_bias": {c: b for c, b in bias.items() if b}}
        bias_factors(meta)  # names checked
        return Classifier(self.path, meta, self._backend)

    def with_crop_rule(self, rule: CropRule) -> Classifier:
        """The same model fed by another crop rule: only for measuring crop rules (normal use takes the model's own)."""
        return Classifier(self.path, {**self.metadata, "crop_rule": rule.to_dict()}, self._backend)

    def restricted(self, names: list[str] | None) -> Classifier:
        """The same model choosing only among `names` (its other classes' probability shared out by renormalising).

        Lets one network serve several uses: the eight-class model as a happy / neutral / sad monitor.
        """
        if not names:
            return self
        unknown = [n for n in names if n not in self.classes]
        if unknown:
            raise UserError(
                f"--classes {','.join(names)}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a class of the model "
                f"({', '.join(self.classes)}); name at least 2 of those"
            )
        if len(set(names)) < 2:
            raise UserError(f"--classes {','.join(names)}: give at least 2 of the model's classes ({', '.join(self.classes)})")
        keep = [i for i, c in enumerate(self.classes) if c in names]
        backend, bias = self._backend, self._bias

        def run(x: np.ndarray) -> np.ndarray:
            p = backend(x) * (bias if bias is not None else 1.0)
            p = p[:, keep]
            return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)

        meta = {k: v for k, v in self.metadata.items() if k != "class_bias"}  # applied inside `run`
        return Classifier(self.path, {**meta, "classes": [self.classes[i] for i in keep], "restricted_from": list(self.classes)}, run)

    def predict(self, crops: np.ndarray) -> list[Prediction]:
        return [Prediction(tuple(float(v) for v in p), self.classes) for p in self.probabilities(crops)]


def load_classifier(path: str | Path | None = None, prefer: str = ".tflite", threads: int | None = None) -> Classifier:
    """Load a model file or folder; raises UserError for missing, corrupt or mismatched models."""
    model_path = resolve(path, prefer)
    meta = read_metadata(model_path)
    size, k = meta["crop_rule"]["size"], len(meta["classes"])
    if model_path.suffix == ".tflite":
        backend = _litert_backend(model_path, threads)
    elif model_path.suffix == ".keras":
        backend = _keras_backend(model_path)
    else:
        raise UserError(f"{model_path}: unknown model format; use a .tflite or .keras file")
    # One dummy face both checks the input and output shapes against the metadata and warms up.
    try:
        with native_stderr():  # LiteRT announces its XNNPACK delegate here
            out = backend(np.zeros((1, size, size, 1), dtype=np.float32))
    except Exception as err:  # any backend failure here means the file does not fit its metadata
        raise UserError(
            f"{model_path}: model does not accept {size}x{size}x1 faces ({type(err).__name__}); retrain or use its own metadata.json"
        ) from None
    if out.shape != (1, k):
        raise UserError(f"{model_path}: model gives {out.shape[-1]} outputs but metadata lists {k} classes; retrain or fix metadata.json")
    return Classifier(model_path, meta, backend)


def parse_classes(text: str) -> list[str]:
    """'happy, neutral,sad' -> ['happy', 'neutral', 'sad'], for --classes (checked against the model when it is loaded)."""
    return [c.strip() for c in text.split(",") if c.strip()]


def parse_class_bias(text: str) -> dict[str, float]:
    """'sad=0.5,neutral=-0.2' -> {'sad': 0.5, 'neutral': -0.2} (ValueError with a message saying what to give)."""
    import math

    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        try:
            b = float(value)
        except ValueError:
            b = float("nan")
        if not name.strip() or not math.isfinite(b) or abs(b) > 5:
            raise ValueError(f"{part!r}: give CLASS=NUMBER with a number between -5 and 5, e.g. sad=0.5")
        if name.strip() in out:
            raise ValueError(f"{text!r}: {name.strip()} is given twice; give each class once")
        out[name.strip()] = b
    if not out:
        raise ValueError(f"{text!r}: give CLASS=NUMBER, e.g. sad=0.5")
    return out


def class_bias_arg(text: str) -> dict[str, float]:
    """--class-bias for argparse (the monitor, evaluate, train): a bad value is argparse's one-line error saying what to give."""
    import argparse

    try:
        return parse_class_bias(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def bias_factors(meta: dict) -> np.ndarray | None:
    """The model's operating point as factors on its probabilities: e^b per class from `class_bias` (None when there is none).

    A bias of +0.5 for `sad` multiplies p(sad) by e^0.5 before renormalising: where two classes
    are close (a resting face and a sad one), it moves the boundary without retraining. It is
    chosen on real faces and stored with the model (`train export --class-bias`), so every user of
    the model (monitor, evaluation) applies the same one.
    """
    bias = meta.get("class_bias") or {}
    if not bias:
        return None
    unknown = [c for c in bias if c not in meta["classes"]]
    if unknown:
        raise UserError(f"class bias for {', '.join(unknown)}: not a class of the model ({', '.join(meta['classes'])})")
    return np.exp(np.array([float(bias.get(c, 0.0)) for c in meta["classes"]], dtype=np.float32))


def _litert_backend(path: Path, threads: int | None):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # fall back to TensorFlow's copy of the same interpreter
        from tensorflow.lite import Interpreter  # type: ignore[no-redef]
    try:
        with native_stderr():
            interp = Interpreter(model_path=str(path), num_threads=threads or min(2, os.cpu_count() or 1))
    except (ValueError, RuntimeError) as err:
        raise UserError(f"{path}: not a valid TFLite model ({str(err).splitlines()[0][:80]}); retrain or restore the file") from None
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    state = {"n": None}
    one_at_a_time = threading.Lock()  # the interpreter is not reentrant: a resize during another thread's invoke fails

    def run(x: np.ndarray) -> np.ndarray:
        with one_at_a_time:
            if state["n"] != len(x):
                interp.resize_tensor_input(inp["index"], x.shape)
                interp.allocate_tensors()
                state["n"] = len(x)
            interp.set_tensor(inp["index"], x)
            interp.invoke()
            return interp.get_tensor(out["index"]).copy()

    return run


def _keras_backend(path: Path):
    with native_stderr():  # TensorFlow's start-up lines
        import keras
        import tensorflow as tf

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a damaged file
        raise UserError(f"{path}: cannot load this Keras model ({type(err).__name__}); retrain or restore the file") from None
    call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def run(x: np.ndarray) -> np.ndarray:
        return np.concatenate([call(tf.constant(x[i : i + 256])).numpy() for i in range(0, len(x), 256)])

    return run
