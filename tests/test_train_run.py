"""train/run.py end to end (`python -m train DATA_DIR`): what a run writes, for any layout and number of classes, from another model's features."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from tests.helpers import assert_one_line_error, face_like, ferplus_faces, run_cli

pytestmark = pytest.mark.slow



def test_training_writes_every_output(trained):
    root, out, proc, dodgy = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("model.keras", "model.tflite", "metadata.json", "curves.png", "confusion.png", "bad_files.csv", "history.csv"):
        assert (out / name).stat().st_size > 0, name
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["classes"] == ["happy", "sad"]
    assert meta["crop_rule"] == {"size": 48, "margin": 0.0}
    assert meta["command"].startswith("python -m train ") and "--seed 3" in meta["command"]
    assert meta["data"]["counts"]["train"] == {"happy": 120, "sad": 120 + sum(dodgy.values())}
    assert meta["data"]["counts"]["val"] == {"happy": 40, "sad": 40}
    assert meta["data"]["skipped"] == sum(not ok for ok in dodgy.values())
    assert meta["training"]["epochs_run"] == 2 and meta["training"]["seconds"] > 0
    assert set(meta["metrics"]["val"]) >= {"accuracy", "balanced_accuracy", "per_class", "confusion"}
    assert {"tensorflow", "keras", "opencv"} <= set(meta["versions"])
    listed = (out / "bad_files.csv").read_text()
    for name, ok in dodgy.items():
        assert (name in listed) != ok, name
    assert "val:" in proc.stdout and "balanced accuracy" in proc.stdout
    assert "oneDNN" not in proc.stderr and "cuda" not in proc.stderr  # TensorFlow's start-up lines are kept from the user


def test_tflite_and_keras_agree(trained):
    from monitor.io.pictures import read_gray
    from monitor.vision.classify import load_classifier

    root, out, _, _ = trained
    files = sorted((root / "data" / "val" / "sad").iterdir()) + sorted((root / "data" / "val" / "happy").iterdir())
    lite, ker = load_classifier(out / "model.tflite"), load_classifier(out / "model.keras")
    crops = np.stack([lite.crop_rule.whole(read_gray(f)) for f in files])
    np.testing.assert_allclose(lite.probabilities(crops), ker.probabilities(crops), atol=1e-3)


def test_any_number_of_classes_and_class_folder_layout(tmp_path):
    import cv2

    for i, name in enumerate(["angry", "happy", "neutral", "sad"]):
        (tmp_path / "d" / name).mkdir(parents=True)
        for j in range(12):
            cv2.imwrite(str(tmp_path / "d" / name / f"{j}.png"), face_like(48, smile=i % 2 == 0, seed=10 * i + j))
    args = ("--epochs", "2", "--warmup-epochs", "1", "--widths", "8,16,24")
    proc = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "m"), *args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["training"]["warmup_epochs"] == 1 and meta["training"]["epochs_run"] == 2
    assert meta["training"]["widths"] == [8, 16, 24]
    params = int(re.search(r"model: ([\d,]+) parameters", proc.stdout).group(1).replace(",", ""))
    assert params < 20_000  # the default network has 867k
    assert meta["classes"] == ["angry", "happy", "neutral", "sad"]
    assert meta["data"]["layout"] == "class folders"
    assert {s: sum(c.values()) for s, c in meta["data"]["counts"].items()} == {"train": 32, "val": 8, "test": 8}
    assert "test" in meta["metrics"] and len(meta["metrics"]["test"]["confusion"]["matrix"]) == 4
    assert "test" in proc.stdout and "(67%)" in proc.stdout  # proportions printed


def test_seven_classes_from_two_folders(tmp_path):
    """FER's seven classes, given as two folders of split folders (FER+'s faces by majority vote), train and evaluate together."""
    dirs = [tmp_path / "happy-sad", tmp_path / "other"]
    for folder, classes in zip(dirs, [("happy", "sad"), ("angry", "disgust", "fear", "neutral", "surprise")]):
        for split, n in (("train", 20), ("val", 6)):
            ferplus_faces(folder / split, split, n, classes)
    proc = run_cli("train", *map(str, dirs), "--out", str(tmp_path / "m"), "--epochs", "1", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["classes"] == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert meta["data"]["dir"] == [str(d) for d in dirs]
    assert np.array(meta["metrics"]["val"]["confusion"]["matrix"]).shape == (7, 7)
    assert meta["metrics"]["val"]["images"] == 42


def test_three_classes_train_and_are_judged_on_two_class_pictures(tmp_path):
    """happy / neutral / sad faces; `evaluate` on happy/sad pictures also judges it among happy and sad."""
    data = tmp_path / "data"
    for split, n in (("train", 30), ("val", 10)):
        ferplus_faces(data / split, split, n, ("happy", "neutral", "sad"))
    out = tmp_path / "m"
    proc = run_cli("train", str(data), "--out", str(out), "--epochs", "1", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "metadata.json").read_text())["classes"] == ["happy", "neutral", "sad"]
    two = tmp_path / "two"
    ferplus_faces(two, "val", 10)
    ev = run_cli("train", "evaluate", str(two), "--model", str(out), "--json")
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    assert m["confusion"]["labels"] == ["happy", "neutral", "sad"] and m["per_class"]["neutral"]["support"] == 0
    r = m["restricted"]
    assert r["classes"] == ["happy", "sad"] and r["images"] == 20 and np.array(r["confusion"]["matrix"]).shape == (2, 2)
    assert r["accuracy"] >= m["accuracy"]  # "neutral" is never an answer among happy and sad
    table = run_cli("train", "evaluate", str(two), "--model", str(out))
    assert "among happy and sad only" in table.stdout


def test_init_from_another_model(trained, tmp_path):
    """A model for other classes can start from a trained model's features, widened if asked; a narrower network is refused."""
    import cv2

    _, out, _, _ = trained
    for i, name in enumerate(["calm", "excited", "tired"]):
        (tmp_path / "d" / name).mkdir(parents=True)
        for j in range(8):
            cv2.imwrite(str(tmp_path / "d" / name / f"{j}.png"), face_like(48, smile=i == 1, seed=7 * i + j))
    proc = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "m"), "--epochs", "1", "--init-from", str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "started from" in proc.stdout
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["training"]["init_from"]["classes"] == ["happy", "sad"] and meta["classes"] == ["calm", "excited", "tired"]
    assert meta["training"]["widths"] == [32, 64, 128, 192]  # the network of the model it started from
    other = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "m4"), "--widths", "16,32", "--init-from", str(out), timeout=600)
    assert_one_line_error(other, "cannot start from this model", "only be widened")
    wider = run_cli(
        "train", str(tmp_path / "d"), "--out", str(tmp_path / "m5"), "--epochs", "1", "--widths", "40,64,128,192", "--init-from", str(out), timeout=600
    )
    assert wider.returncode == 0, wider.stderr[-2000:]
    assert "widened 32,64,128,192 -> 40,64,128,192" in wider.stdout
    assert json.loads((tmp_path / "m5" / "metadata.json").read_text())["training"]["widths"] == [40, 64, 128, 192]
    again = run_cli(
        "train", str(tmp_path / "d"), "--out", str(tmp_path / "m3"), "--epochs", "1", "--init-from", str(tmp_path / "m"), timeout=600
    )
    assert again.returncode == 0, again.stderr[-2000:]
    chain = json.loads((tmp_path / "m3" / "metadata.json").read_text())["training"]["init_from"]
    assert chain["command"] == meta["command"] and chain["init_from"] == meta["training"]["init_from"]  # every step recorded
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "model.keras").write_bytes(b"PK\x03\x04 broken")
    bad = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "m2"), "--init-from", str(broken), timeout=600)
    assert_one_line_error(bad, "model.keras", "cannot load")
