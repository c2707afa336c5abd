"""train/commands.py and train/parsers.py: `python -m train evaluate` and the commands' one-line errors and help."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from tests.helpers import assert_one_line_error, face_like, run_cli

pytestmark = pytest.mark.slow



def test_evaluate_json_matches_training_metrics(trained):
    root, out, proc, _ = trained
    errors = root / "errors.csv"
    ev = run_cli("train", "evaluate", str(root / "data" / "val"), "--model", str(out), "--json", "--errors", str(errors))
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    wrong = pd.read_csv(errors)
    cm = np.array(m["confusion"]["matrix"])
    assert len(wrong) == cm.sum() - np.trace(cm) and (wrong["true"] != wrong["predicted"]).all()
    assert wrong["confidence"].is_monotonic_decreasing and (wrong["confidence"] >= 0.5).all()  # two classes: the guess has >= 0.5
    assert {"images", "evaluated", "no_face", "skipped", "accuracy", "balanced_accuracy", "per_class", "confusion"} <= set(m)
    assert m["images"] == 80 and m["evaluated"] == 80 and m["no_face"] == 0
    assert m["per_class"]["happy"]["support"] == 40
    meta = json.loads((out / "metadata.json").read_text())
    assert abs(m["balanced_accuracy"] - meta["metrics"]["val"]["balanced_accuracy"]) < 1e-9


def test_evaluate_bad_models(trained, tmp_path):
    root, out, _, _ = trained
    val = str(root / "data" / "val")
    assert_one_line_error(run_cli("train", "evaluate", val, "--model", str(tmp_path / "none.keras")), "none.keras", "not found")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(out, corrupt)
    (corrupt / "model.keras").write_bytes(b"PK\x03\x04 broken zip")
    assert_one_line_error(run_cli("train", "evaluate", val, "--model", str(corrupt / "model.keras")), "model.keras")
    wrong = tmp_path / "wrong"
    shutil.copytree(out, wrong)
    meta = json.loads((wrong / "metadata.json").read_text())
    meta["crop_rule"]["size"] = 64
    (wrong / "metadata.json").write_text(json.dumps(meta))
    assert_one_line_error(run_cli("train", "evaluate", val, "--model", str(wrong)), "64x64")


def test_no_face_pictures_count_as_wrong(trained, tmp_path):
    """Large pictures without a face go to the detector, find nothing, and count in no_face."""
    _, out, _, _ = trained
    import cv2

    for k, name in enumerate(("happy", "sad")):
        (tmp_path / name).mkdir()
        for i in range(2):
            blank = np.full((300, 400), 128 + i + 10 * k, np.uint8)  # a different wall in each class (one picture in two classes is left out)
            cv2.imwrite(str(tmp_path / name / f"wall{i}.png"), blank)
    ev = run_cli("train", "evaluate", str(tmp_path), "--model", str(out), "--json", "--errors", str(tmp_path / "e.csv"))
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    assert m["no_face"] == 4 and m["evaluated"] == 0 and m["balanced_accuracy"] == 0.0
    assert (pd.read_csv(tmp_path / "e.csv")["predicted"] == "no face").sum() == 4


def test_train_bad_inputs(tmp_path):
    (tmp_path / "one" / "happy").mkdir(parents=True)
    assert_one_line_error(run_cli("train", str(tmp_path / "missing")), "missing", "no such folder")
    assert_one_line_error(run_cli("train", str(tmp_path / "one")), "need at least 2 class folders")
    (tmp_path / "one" / "sad").mkdir()
    assert_one_line_error(run_cli("train", str(tmp_path / "one")), "empty class folder")
    for name in ("happy", "sad"):
        (tmp_path / "one" / name / "a.jpg").write_text("not an image")
    assert_one_line_error(run_cli("train", str(tmp_path / "one"), "--out", str(tmp_path / "o")), "no usable picture")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_one_line_error(
        run_cli("train", str(tmp_path / "one"), "--out", str(blocker / "out")), "is a file, not a folder; pass another --out"
    )
    assert_one_line_error(run_cli("train", str(tmp_path / "one"), "--mixup", "-1"), "--mixup -1", "positive")
    for option, value in [
        ("--learning-rate", "-1"), ("--learning-rate", "nan"), ("--val-fraction", "2"), ("--test-fraction", "-0.1"),
        ("--epochs", "0"), ("--batch-size", "0"), ("--patience", "0"), ("--size", "8"), ("--margin", "5"), ("--warmup-epochs", "-1"),
        ("--peer-timeout", "0"), ("--peer-timeout", "inf"),
    ]:  # fmt: skip
        assert_one_line_error(run_cli("train", str(tmp_path / "one"), option, value, "--out", str(tmp_path / "never")), option, "must be")
    assert not (tmp_path / "never").exists()
    errors_at = run_cli("train", "evaluate", str(tmp_path / "one"), "--errors", str(blocker / "wrong.csv"))
    assert_one_line_error(errors_at, "is a file, not a folder; pass another --errors path")  # not "choose another --out"
    assert_one_line_error(run_cli("train", str(tmp_path / "one"), "--widths", "8,8,8,8,8,8"), "--widths", "at most 5")
    assert_one_line_error(run_cli("train", str(tmp_path / "one"), "--classes", "happy,angry"), "--classes", "angry", "found happy, sad")
    bad_widths = run_cli("train", str(tmp_path / "one"), "--widths", "0,8")
    assert bad_widths.returncode == 2 and "argument --widths: '0,8': give positive whole numbers" in bad_widths.stderr


def test_help_explains_every_option():
    proc = run_cli("train", "--help")
    assert proc.returncode == 0
    options = ("--out", "--epochs", "--faces", "--seed", "--batch-size", "--patience", "--margin", "--mixup", "--init-from", "--widths")
    for opt in (*options, "--classes", "evaluate"):
        assert opt in proc.stdout


def test_evaluate_refuses_other_classes_before_decoding_any_picture(tmp_path):
    """A folder whose classes are not the model's is refused from its folder names: no picture is read first."""
    for name in ("angry", "happy"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(30):
            cv2.imwrite(str(tmp_path / "data" / name / f"{i}.png"), face_like(96, seed=i))
    proc = run_cli("train", "evaluate", str(tmp_path / "data"), "--model", "happy-neutral-sad")
    assert_one_line_error(proc, "angry", "not among the model's classes")
    assert "reading" not in proc.stderr  # the progress bar of decoding the pictures never started
