"""Metrics: checked against hand-computed values."""

from __future__ import annotations

import numpy as np

from train.evaluate import balanced_accuracy, confusion_matrix, report


def test_confusion_and_balanced_accuracy():
    y_true = np.array([0, 0, 0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 1, 0])
    cm = confusion_matrix(y_true, y_pred, 2)
    assert cm.tolist() == [[3, 1], [1, 1]]
    assert balanced_accuracy(y_true, y_pred, 2) == (0.75 + 0.5) / 2


def test_report_counts_no_face_as_wrong():
    cm = np.array([[8, 2], [1, 9]])
    m = report(cm, ["happy", "sad"], no_face=np.array([10, 0]))
    assert m["images"] == 30 and m["evaluated"] == 20 and m["no_face"] == 10
    assert m["per_class"]["happy"]["recall"] == 8 / 20
    assert m["per_class"]["happy"]["support"] == 20
    assert m["per_class"]["happy"]["precision"] == 8 / 9
    assert abs(m["balanced_accuracy"] - (0.4 + 0.9) / 2) < 1e-12
    assert abs(m["accuracy"] - 17 / 30) < 1e-12
    assert m["confusion"] == {"labels": ["happy", "sad"], "matrix": [[8, 2], [1, 9]]}


def test_f1_and_absent_class():
    cm = np.array([[5, 0, 0], [0, 0, 0], [5, 0, 0]])
    m = report(cm, ["a", "b", "c"])
    assert m["per_class"]["b"]["support"] == 0
    assert m["balanced_accuracy"] == 0.5  # mean over the classes present (a: 1.0, c: 0.0)
    assert abs(m["per_class"]["a"]["f1"] - 2 * 0.5 * 1.0 / 1.5) < 1e-12
