"""Metrics that every accuracy claim of the project rests on (pure numpy, no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.core.errors import UserError


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts[true, predicted]."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return cm


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes present in y_true."""
    return report(confusion_matrix(y_true, y_pred, num_classes), [str(i) for i in range(num_classes)])["balanced_accuracy"]


def report(cm: np.ndarray, classes: list[str], no_face: np.ndarray | None = None) -> dict:
    """Accuracy, balanced accuracy, per-class precision/recall/f1/support from a confusion matrix.

    `no_face[c]` counts pictures of class c in which no face was found: they are part of the
    support and count as wrong, so a detector that misses faces cannot inflate the numbers.
    """
    cm = np.asarray(cm, dtype=np.int64)
    missed = np.zeros(len(classes), dtype=np.int64) if no_face is None else np.asarray(no_face, dtype=np.int64)
    correct = np.diag(cm)
    support = cm.sum(axis=1) + missed
    predicted = cm.sum(axis=0)
    recall = np.divide(correct, support, out=np.zeros(len(classes)), where=support > 0)
    precision = np.divide(correct, predicted, out=np.zeros(len(classes)), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(len(classes)), where=denom > 0)
    present = support > 0
    total = int(support.sum())
    return {
        "images": total,
        "evaluated": int(cm.sum()),
        "no_face": int(missed.sum()),
        "accuracy": float(correct.sum() / total) if total else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": {"labels": list(classes), "matrix": cm.tolist()},
    }


def format_report(metrics: dict) -> str:
    """A short human-readable table of a `report` dict."""
    lines = [
        f"images {metrics['images']}  evaluated {metrics['evaluated']}  no face {metrics['no_face']}"
        + (f"  skipped {metrics['skipped']}" if "skipped" in metrics else ""),
        f"accuracy {metrics['accuracy']:.4f}  balanced accuracy {metrics['balanced_accuracy']:.4f}"
        + (f"  ECE {metrics['ece']:.4f}" if metrics.get("ece") is not None else "")
        + (f" (calibrated here by a temperature of {metrics['temperature_here']:g})" if metrics.get("temperature_here") else ""),
        f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, m in metrics["per_class"].items():
        lines.append(f"{name:<12}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}{m['support']:>10}")
    labels = metrics["confusion"]["labels"]
    lines.append("confusion (rows true, columns predicted): " + " ".join(labels))
    for name, row in zip(labels, metrics["confusion"]["matrix"]):
        lines.append(f"  {name:<10}" + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)


@dataclass(frozen=True)
class Predictions:
    """One prediction per picture of a split: its path, true class and probabilities (model's class order)."""

    classes: list[str]
    paths: list[str]
    y_true: np.ndarray
    probs: np.ndarray
    no_face: list[tuple[str, int]]  # (path, true class) of pictures in which no face was found


def check_classes(data_classes: list[str], model_classes: list[str]) -> None:
    """The data's classes must be the model's (by name): checked from the folder names, before any picture is decoded."""
    unknown = [c for c in data_classes if c not in model_classes]
    if unknown:
        raise UserError(
            f"the data's class(es) {', '.join(unknown)} (folders or label.csv columns) are not among the model's classes "
            f"({', '.join(model_classes)}); leave them out with --classes, rename them, or use another --model"
        )


def predict_split(classifier, scan, split: str, batch: int = 256) -> Predictions:
    """Run `classifier` over one split of a scanned folder, one prediction per picture.

    A picture with several faces is judged by its largest face. Folder classes are matched
    to the model's classes by name.
    """
    from train.data.pipeline import load_crop

    model_classes = list(classifier.classes)
    check_classes(scan.classes, model_classes)
    to_model = [model_classes.index(c) for c in scan.classes]
    seen: set[str] = set()
    samples = []
    for s in scan.splits[split]:  # the detector lists the largest face first
        if s.path not in seen:
            seen.add(s.path)
            samples.append(s)
    probs = np.zeros((len(samples), len(model_classes)), dtype=np.float32)
    for i in range(0, len(samples), batch):
        crops = np.stack([load_crop(s, classifier.crop_rule) for s in samples[i : i + batch]])
        probs[i : i + batch] = classifier.probabilities(crops)
    return Predictions(
        classes=model_classes,
        paths=[s.path for s in samples],
        y_true=np.array([to_model[s.label] for s in samples], dtype=int),
        probs=probs,
        no_face=[(path, to_model[label]) for path, label, s in scan.no_face if s == split],
    )


def metrics_of(pred: Predictions) -> dict:
    """The `report` of a split's predictions, with the confidence's calibration error; no face counts as wrong."""
    from train.calibrate import expected_calibration_error, fit_temperature

    k = len(pred.classes)
    no_face = np.bincount(np.array([label for _, label in pred.no_face], dtype=int), minlength=k)
    metrics = report(confusion_matrix(pred.y_true, pred.probs.argmax(axis=1), k), pred.classes, no_face)
    metrics["ece"] = expected_calibration_error(pred.probs, pred.y_true) if len(pred.y_true) else None
    # the temperature that would calibrate the confidence on exactly these pictures (1: it already is): tells whether
    # the model is over-confident (> 1) or timid (< 1) on a kind of face, and by how much
    metrics["temperature_here"] = round(fit_temperature(pred.probs, pred.y_true), 3) if len(pred.y_true) else None
    return metrics


def restricted(pred: Predictions, classes: list[str]) -> Predictions:
    """The predictions as if the model had only `classes` (the larger of their probabilities wins, renormalised).

    Lets a model with more classes than a data set (happy/neutral/sad on happy/sad pictures)
    be compared with a model that has just the data's classes, on the same pictures.
    """
    cols = [pred.classes.index(c) for c in classes]
    to_new = {old: new for new, old in enumerate(cols)}
    p = pred.probs[:, cols]
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    return Predictions(
        classes=list(classes),
        paths=pred.paths,
        y_true=np.array([to_new[t] for t in pred.y_true], dtype=int),
        probs=p,
        no_face=[(path, to_new[t]) for path, t in pred.no_face],
    )


def mistakes(pred: Predictions) -> list[dict]:
    """Every picture judged wrong, most confident first: where to look for mislabelled pictures."""
    guess = pred.probs.argmax(axis=1)
    rows = [
        {
            "path": path,
            "true": pred.classes[t],
            "predicted": pred.classes[g],
            "confidence": round(float(p[g]), 4),
            "p_true": round(float(p[t]), 4),
        }
        for path, t, g, p in zip(pred.paths, pred.y_true, guess, pred.probs)
        if g != t
    ]
    rows.sort(key=lambda r: -r["confidence"])
    return rows + [
        {"path": path, "true": pred.classes[t], "predicted": "no face", "confidence": "", "p_true": ""} for path, t in pred.no_face
    ]


def evaluate_scan(classifier, scan, split: str, batch: int = 256) -> dict:
    """Metrics of `classifier` on one split of a scanned folder (see `predict_split`, `metrics_of`)."""
    metrics = metrics_of(predict_split(classifier, scan, split, batch))
    metrics["skipped"] = len(scan.skipped)
    return metrics
