"""Finishing a run: save the model files, calibrate, fit the operating point, measure; a new run and `train export` alike.

Each step returns the metadata it changed and writes it before the model is loaded back, so
what is measured is the model as the monitor will load it.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.errors import UserError
from monitor.core.metadata import Calibration, ModelMetadata
from train.checks import check_source
from train.data import layout
from train.data.samples import Scan
from train.data.scan import progress, scan

if TYPE_CHECKING:
    import keras


def load_keras(path: Path, what_to_do: str) -> keras.Model:
    """A saved Keras model for more training or export; a damaged file is a user error."""
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a damaged file
        raise UserError(f"{path}: cannot load this Keras model ({type(err).__name__}); {what_to_do}") from None


def save_and_evaluate(
    model, meta: ModelMetadata, data: Scan, out: Path, data_name: str, calibrate: bool = True, fit_bias_on: str | None = None
) -> ModelMetadata:
    """Write both model files and the metadata, calibrate the confidence on val, then measure the saved model (as `evaluate` would).

    The temperature is fitted on the validation split's predictions of the saved model and
    built into the model files, so every backend gives calibrated probabilities.
    """
    from monitor.vision.classify import load_classifier
    from train.calibrate import calibrate as fit
    from train.calibrate import plot_reliability
    from train.evaluate import predict_split
    from train.export import save_models
    from train.model import with_temperature

    bias = meta.class_bias  # the temperature is fitted to the network's own probabilities
    meta = meta.but(class_bias=None, files=save_models(model, out))
    meta.write(out)  # needed to load the model back for evaluation
    if calibrate and data.splits.get("val"):
        val = predict_split(load_classifier(out, prefer=".keras"), data, "val")
        calibration = Calibration(**fit(val.probs, val.y_true))
        plot_reliability(val.probs, val.y_true, calibration.temperature, out / "reliability.png", f"val ({data_name})")
        meta = meta.but(calibration=calibration, files=save_models(with_temperature(model, calibration.temperature), out))
    meta = meta.but(class_bias=bias or None)
    if fit_bias_on:
        meta = fit_operating_point(meta, data, out, fit_bias_on)
    return remeasure(meta, data, out, data_name)


def fit_operating_point(meta: ModelMetadata, data: Scan, out: Path, source: str) -> ModelMetadata:
    """Store the class bias that maximises balanced accuracy on `source`'s validation pictures (the model's own probabilities)."""
    import numpy as np

    from monitor.vision.classify import load_classifier
    from train.calibrate import fit_class_bias
    from train.evaluate import balanced_accuracy, predict_split

    part = data.of_source(*source.split(","))
    if not part.splits.get("val"):
        raise UserError(f"--fit-class-bias {source}: no validation picture from there; name a folder with pictures in val")
    old = meta.class_bias
    meta = meta.but(class_bias=None)
    meta.write(out)  # the network's own probabilities are what the bias is fitted to
    try:
        val = predict_split(load_classifier(out, prefer=".keras"), part, "val")
    except BaseException:  # interrupted or failed: the run keeps the operating point it had
        if old:
            meta.but(class_bias=old).write(out)
        raise
    bias = fit_class_bias(val.probs, val.y_true)
    k = len(val.classes)
    before = balanced_accuracy(val.y_true, val.probs.argmax(axis=1), k)
    after = balanced_accuracy(val.y_true, (np.log(np.maximum(val.probs, 1e-12)) + bias).argmax(axis=1), k)
    meta = meta.but(
        class_bias={c: round(float(b), 2) for c, b in zip(val.classes, bias) if round(float(b), 2)},
        operating_point={"fitted_on": f"val of {source}", "pictures": len(val.y_true), "balanced_accuracy_before": before, "after": after},
    )
    shown = ", ".join(f"{c} {b:+g}" for c, b in meta.class_bias.items()) or "none"
    print(f"operating point fitted on {len(val.y_true)} val pictures of {source}: class bias {shown}; balanced accuracy {before:.4f} -> {after:.4f}")
    return meta


def remeasure(meta: ModelMetadata, data: Scan, out: Path, data_name: str) -> ModelMetadata:
    """Write the metadata and measure the saved model with it again (after a change that is metadata only)."""
    from monitor.vision.classify import load_classifier
    from train.evaluate import evaluate_scan
    from train.export import plot_confusion

    meta.write(out)
    classifier = load_classifier(out, prefer=".keras")
    metrics = {split: evaluate_scan(classifier, data, split) for split in ("val", "test") if data.splits.get(split)}
    meta = meta.but(metrics=metrics)
    sources = data.source_counts()
    if len(sources) > 1:  # each data folder's pictures on their own: FER+ Valid and a real-face hold-out are different questions
        meta = meta.but(
            metrics_by_source={
                source: {split: evaluate_scan(classifier, data.of_source(source), split) for split in ("val", "test") if split in splits}
                for source, splits in sources.items()
            }
        )
    meta.write(out)
    main_split = "test" if "test" in metrics else "val"
    plot_confusion(metrics[main_split], out, f"{main_split} ({data_name})")
    return meta


def calibration_line(c: Calibration) -> str:
    return f"\ncalibration: temperature {c.temperature}, ECE on val {c.ece_before:.4f} -> {c.ece_after:.4f}"


def export_run(args: argparse.Namespace, argv: list[str]) -> int:
    """`python -m train export`: rewrite a finished run's model files or operating point in place, and measure it again."""
    from monitor.vision.models import read_metadata
    from train.evaluate import format_report

    keras_path = args.run_dir / "model.keras"
    if not keras_path.is_file():
        raise UserError(f"{keras_path}: not found; give the output folder of a `python -m train` run")
    meta = ModelMetadata.from_dict(read_metadata(keras_path))
    check_export(args, meta)
    dirs = meta.data_dirs
    for data_dir in dirs:
        if not data_dir.is_dir():
            raise UserError(f"{data_dir}: the training data (from metadata.json) is not there; run from the folder training ran in")
    check_source(args.fit_class_bias, dirs, "--fit-class-bias")
    from monitor.core.crop import CropRule
    from train.model import base_network, with_flip_average

    classifier = base_network(load_keras(keras_path, "retrain"))  # without an earlier temperature or mirror averaging
    data = scan(
        dirs,
        meta.faces,
        CropRule(**meta.crop_rule),
        meta.seed,
        meta.fractions,
        progress("checking pictures"),
        only_classes=list(meta.classes),
        labels=meta.labels,
    )
    before = meta.metrics
    meta = meta.but(metrics_before_export=before, export_command="python -m train export " + shlex.join(argv))
    if args.class_bias:  # the operating point: metadata only, the network files stay as they are
        bias = {**(meta.class_bias or {}), **args.class_bias}
        meta = meta.but(class_bias={c: b for c, b in bias.items() if b != 0})
    calibrate = False
    if args.flip_average or args.calibrate:
        calibrate = bool(args.calibrate or meta.calibration)  # a mirrored model's confidence is fitted anew
        meta = meta.but(flip_average=bool(args.flip_average or meta.flip_average), calibration=None)
        model = with_flip_average(classifier) if meta.flip_average else classifier
        meta = save_and_evaluate(model, meta, data, args.run_dir, layout.data_name(dirs), calibrate, args.fit_class_bias)
    else:
        if args.fit_class_bias:
            meta = fit_operating_point(meta, data, args.run_dir, args.fit_class_bias)
        meta = remeasure(meta, data, args.run_dir, layout.data_name(dirs))
    for split, m in meta.metrics.items():
        was = before[split]["balanced_accuracy"] if before else float("nan")
        print(f"\n{split} (balanced accuracy before: {was:.4f}):\n{format_report(m)}")
    if meta.calibration:
        print(calibration_line(meta.calibration))
    files = "model.keras, model.tflite, metadata.json, confusion.png" if args.flip_average or args.calibrate else "metadata.json, confusion.png"
    print(f"\nwrote {args.run_dir}/: {files}" + (", reliability.png" if calibrate else ""))
    if meta.class_bias:
        print("class bias (added to log-probabilities wherever the model is used): " + ", ".join(f"{c} {b:+g}" for c, b in meta.class_bias.items()))
    return 0


def check_export(args: argparse.Namespace, meta: ModelMetadata) -> None:
    """The export options against each other and against the run's model, before anything is loaded."""
    if not (args.flip_average or args.calibrate or args.class_bias or args.fit_class_bias):
        raise UserError("nothing to do: pass --flip-average, --calibrate, --class-bias and/or --fit-class-bias")
    if args.class_bias and args.fit_class_bias:
        raise UserError("--class-bias and --fit-class-bias both set the operating point; pass one")
    if args.class_bias:
        unknown = [c for c in args.class_bias if c not in meta.classes]
        if unknown:
            raise UserError(f"--class-bias: {', '.join(unknown)} is not a class of this model ({', '.join(meta.classes)})")
    if args.flip_average and meta.flip_average:
        raise UserError(f"{args.run_dir}: the model already averages over mirrored faces")
    if args.calibrate and not args.flip_average and meta.calibration:
        raise UserError(f"{args.run_dir}: the model is already calibrated (temperature {meta.calibration.temperature})")
