"""`python -m train` and `python -m train evaluate` end to end on a small slice of FER-2013."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_one_line_error, face_like, run_cli
from tests.test_images import make_dodgy_files

pytestmark = pytest.mark.slow


def slice_of(src, dst, per_class: int):
    """A small copy of a class-folder tree (the first files of each class)."""
    for class_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        (dst / class_dir.name).mkdir(parents=True)
        for f in sorted(class_dir.iterdir())[:per_class]:
            shutil.copy(f, dst / class_dir.name / f.name)
    return dst


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fer_dir):
    """One short training run on a split layout with dodgy files mixed in; shared by the tests below."""
    root = tmp_path_factory.mktemp("data")
    slice_of(fer_dir / "train", root / "data" / "train", 120)
    slice_of(fer_dir / "val", root / "data" / "val", 40)
    dodgy = make_dodgy_files(root / "data" / "train" / "sad")
    out = root / "model"
    proc = run_cli("train", str(root / "data"), "--out", str(out), "--epochs", "2", "--seed", "3", timeout=600)
    return root, out, proc, dodgy


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


def test_tflite_and_keras_agree(trained, fer_dir):
    from monitor.classifier import load_classifier
    from monitor.images import read_gray

    _, out, _, _ = trained
    files = sorted((fer_dir / "val" / "sad").iterdir())[:50] + sorted((fer_dir / "val" / "happy").iterdir())[:50]
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


def test_a_killed_run_resumes_from_its_last_finished_epoch(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import cv2

    from tests.conftest import ROOT

    for i, name in enumerate(["happy", "sad"]):
        (tmp_path / "d" / name).mkdir(parents=True)
        for j in range(16):
            cv2.imwrite(str(tmp_path / "d" / name / f"{j}.png"), face_like(48, smile=i == 0, seed=10 * i + j))
    args = ["--epochs", "3", "--widths", "8,16", "--seed", "2", "--patience", "5"]
    whole = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "whole"), *args, timeout=600)
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert not (tmp_path / ".whole.checkpoint").exists()  # a finished run keeps no checkpoint

    out, checkpoint = tmp_path / "cut", tmp_path / ".cut.checkpoint"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "train", str(tmp_path / "d"), "--out", str(out), *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            state = checkpoint / "state.json"
            if state.is_file() and json.loads(state.read_text())["epoch"] >= 1:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # as a laptop's shutdown or a job scheduler stops it
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = json.loads((checkpoint / "state.json").read_text())["epoch"]
    assert done in (1, 2, 3) and not out.exists() and proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "--resume to continue" in err
    assert not list(tmp_path.glob(".cut.partial-*"))  # SIGTERM cleans up as Ctrl-C does

    fresh = run_cli("train", str(tmp_path / "d"), "--out", str(out), *args, timeout=120)
    assert_one_line_error(fresh, str(out), f"finished {done} epoch", "--resume")
    other = run_cli("train", str(tmp_path / "d"), "--out", str(out), *args, "--seed", "5", "--resume", timeout=120)
    assert_one_line_error(other, "--resume", "--seed 2 (now 5)")
    resumed = run_cli("train", str(tmp_path / "d"), "--out", str(out), *args, "--resume", timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed after epoch {done} of 3" in resumed.stdout or done == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "whole").iterdir())
    a, b = (json.loads((d / "metadata.json").read_text())["training"] for d in (tmp_path / "whole", out))
    assert a["epochs_run"] == b["epochs_run"] == 3
    assert len(pd.read_csv(out / "history.csv")) == 3  # the epochs before the kill are part of the history
    assert not checkpoint.exists()
    nothing = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "new"), *args, "--resume", timeout=120)
    assert_one_line_error(nothing, "--resume", "no interrupted run")


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


def test_work_folders_of_killed_runs_are_removed(tmp_path):
    import os
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".model.partial-{dead.pid}"  # a run killed with -9 left this
    stale.mkdir()
    (stale / "model.keras").write_text("half")
    alive = tmp_path / f".other.partial-{os.getpid()}"  # a run still going keeps its folder
    alive.mkdir()
    (tmp_path / "one" / "happy").mkdir(parents=True)
    (tmp_path / "one" / "sad").mkdir()
    for name in ("happy", "sad"):
        (tmp_path / "one" / name / "a.jpg").write_text("not an image")
    proc = run_cli("train", str(tmp_path / "one"), "--out", str(tmp_path / "model"))
    assert_one_line_error(proc, "no usable picture")
    assert not stale.exists() and alive.is_dir()
    assert f"removed {stale}" in proc.stderr


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

    for name in ("happy", "sad"):
        (tmp_path / name).mkdir()
        for i in range(2):
            blank = np.full((300, 400), 128 + i, np.uint8)
            cv2.imwrite(str(tmp_path / name / f"wall{i}.png"), blank)
    ev = run_cli("train", "evaluate", str(tmp_path), "--model", str(out), "--json", "--errors", str(tmp_path / "e.csv"))
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    assert m["no_face"] == 4 and m["evaluated"] == 0 and m["balanced_accuracy"] == 0.0
    assert (pd.read_csv(tmp_path / "e.csv")["predicted"] == "no face").sum() == 4


def test_help_explains_every_option():
    proc = run_cli("train", "--help")
    assert proc.returncode == 0
    options = ("--out", "--epochs", "--faces", "--seed", "--batch-size", "--patience", "--margin", "--mixup", "--init-from", "--widths")
    for opt in (*options, "--classes", "evaluate"):
        assert opt in proc.stdout


def test_seven_fer_classes_from_two_folders(tmp_path, fer_dir):
    """FER's seven classes, given as its two shared folders (sliced here for speed), train and evaluate together."""
    dirs = []
    for src in (fer_dir, fer_dir.parent / "fer2013-other"):
        dirs.append(tmp_path / src.name)
        for split, n in (("train", 20), ("val", 6)):
            for class_dir in sorted(p for p in (src / split).iterdir() if p.is_dir()):
                dst = dirs[-1] / split / class_dir.name
                dst.mkdir(parents=True)
                for f in sorted(class_dir.iterdir())[:n]:
                    (dst / f.name).symlink_to(f)
    proc = run_cli("train", *map(str, dirs), "--out", str(tmp_path / "m"), "--epochs", "1", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["classes"] == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert meta["data"]["dir"] == [str(d) for d in dirs]
    assert np.array(meta["metrics"]["val"]["confusion"]["matrix"]).shape == (7, 7)
    assert meta["metrics"]["val"]["images"] == 42


def test_export_flip_average(trained, tmp_path):
    """`train export --flip-average` rewrites both model files; the result is the mean over the mirrored face."""
    from monitor.classifier import load_classifier
    from train.calibrate import scaled

    _, out, _, _ = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    meta_before = json.loads((run / "metadata.json").read_text())
    # the recorded data folder is absolute here (tmp), so the command works from the project root
    proc = run_cli("train", "export", str(run), "--flip-average")
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["flip_average"] is True and meta["export_command"] == f"python -m train export {run} --flip-average"
    assert meta["metrics_before_export"] == meta_before["metrics"]
    crops = np.random.default_rng(0).integers(0, 255, (6, 48, 48)).astype(np.uint8)
    plain = load_classifier(out / "model.tflite")
    # both files have a temperature built in, and the mirrored model's is fitted anew: compare on the network's own
    # probabilities (the old temperature taken out), averaged over the mirror, then given the new temperature
    t_before, t_after = (m.get("calibration", {}).get("temperature", 1.0) for m in (meta_before, meta))
    own = lambda x: scaled(plain.probabilities(x), 1 / t_before)  # noqa: E731
    expected = scaled((own(crops) + own(crops[:, :, ::-1].copy())) / 2, t_after)
    for name in ("model.tflite", "model.keras"):
        np.testing.assert_allclose(load_classifier(run / name).probabilities(crops), expected, atol=1e-4)
    assert_one_line_error(run_cli("train", "export", str(run), "--flip-average"), "already")


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


def test_out_folder_is_never_silently_replaced(trained, tmp_path, fer_dir):
    """A non-empty --out is refused (the model there is kept); --overwrite replaces the run's files and says what it kept."""
    root, out, _, _ = trained
    before = (out / "model.keras").read_bytes()
    data = str(root / "data")
    proc = run_cli("train", data, "--out", str(out), "--epochs", "1")
    assert_one_line_error(proc, str(out), "not empty", "--overwrite")
    assert (out / "model.keras").read_bytes() == before
    again = tmp_path / "again"
    shutil.copytree(out, again)
    (again / "README.md").write_text("notes")
    tiny = slice_of(fer_dir / "val", tmp_path / "tiny", 12)
    proc = run_cli("train", str(tiny), "--out", str(again), "--epochs", "1", "--overwrite", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((again / "metadata.json").read_text())
    assert meta["data"]["dir"] == str(tiny) and "--overwrite" in meta["command"]
    assert "README.md" in proc.stdout and (again / "README.md").read_text() == "notes"


def test_a_failed_run_leaves_no_output_folder(tmp_path):
    for name in ("happy", "sad"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "x.jpg").write_text("not a picture")
    out = tmp_path / "run"
    proc = run_cli("train", str(tmp_path / "data"), "--out", str(out))
    assert_one_line_error(proc, "no usable picture")
    assert not out.exists()


def test_training_calibrates_and_both_backends_apply_the_temperature(trained, fer_dir):
    from monitor.classifier import load_classifier
    from monitor.images import read_gray
    from train.calibrate import scaled
    from train.model import base_network

    _, out, proc, _ = trained
    meta = json.loads((out / "metadata.json").read_text())
    c = meta["calibration"]
    assert c["method"] == "temperature" and c["temperature"] > 0 and c["fitted_on"] == 80 and c["bins"] == 15
    assert c["nll_after"] <= c["nll_before"] + 1e-9  # fitted to minimise it
    assert (out / "reliability.png").stat().st_size > 5000 and "ECE on val" in proc.stdout
    faces = np.stack([read_gray(p) for p in sorted((fer_dir / "val" / "sad").iterdir())[:40]]).astype("float32")[..., None]
    base = base_network(load_keras_model(out / "model.keras"))
    expected = scaled(base(faces, training=False).numpy(), c["temperature"])
    for backend in ("model.keras", "model.tflite"):
        got = load_classifier(out / backend).probabilities(faces[..., 0].astype(np.uint8))
        np.testing.assert_allclose(got, expected, atol=2e-4)


def load_keras_model(path):
    import keras

    return keras.saving.load_model(path, compile=False)


def test_three_classes_train_and_are_judged_on_two_class_pictures(tmp_path, fer_dir):
    """happy / neutral / sad from FER's two folders; `evaluate` on happy/sad pictures also judges it among happy and sad."""
    other = fer_dir.parent / "fer2013-other"
    data = tmp_path / "data"
    for split, n in (("train", 30), ("val", 10)):
        for src, name in ((fer_dir, "happy"), (fer_dir, "sad"), (other, "neutral")):
            dst = data / split / name
            dst.mkdir(parents=True)
            for f in sorted((src / split / name).iterdir())[:n]:
                (dst / f.name).symlink_to(f)
    out = tmp_path / "m"
    proc = run_cli("train", str(data), "--out", str(out), "--epochs", "1", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "metadata.json").read_text())["classes"] == ["happy", "neutral", "sad"]
    two = tmp_path / "two"
    slice_of(fer_dir / "val", two, 10)
    ev = run_cli("train", "evaluate", str(two), "--model", str(out), "--json")
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    assert m["confusion"]["labels"] == ["happy", "neutral", "sad"] and m["per_class"]["neutral"]["support"] == 0
    r = m["restricted"]
    assert r["classes"] == ["happy", "sad"] and r["images"] == 20 and np.array(r["confusion"]["matrix"]).shape == (2, 2)
    assert r["accuracy"] >= m["accuracy"]  # "neutral" is never an answer among happy and sad
    table = run_cli("train", "evaluate", str(two), "--model", str(out))
    assert "among happy and sad only" in table.stdout


def free_ports(n: int) -> list[int]:
    """Free ports below the ephemeral range, so no outgoing connection can take one before its worker listens there.

    A worker binds its port only after importing TensorFlow (seconds); an ephemeral port found free
    by binding to port 0 can meanwhile become the source port of some connection on the machine.
    """
    import random
    import socket

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports: list[int] = []
    for port in random.sample(range(min(20000, low - 1000), low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == n:
            return ports
    raise RuntimeError("no free port below the ephemeral range")


def start_workers(data, out, epochs: int, *options: str) -> tuple[list, list[str]]:
    """Two `python -m train --strategy multiworker` processes on 127.0.0.1, each with its TF_CONFIG.

    PYTHONFAULTHANDLER lets `finish` show where a worker was when it had to be stopped.
    """
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    hosts = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, "-m", "train", str(data), "--out", str(out), "--epochs", str(epochs), "--strategy", "multiworker"]
        env = {**os.environ, "TF_CONFIG": tf_config, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONFAULTHANDLER": "1"}
        procs.append(
            subprocess.Popen(
                [*cmd, "--batch-size", "8", *options], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    return procs, hosts


def finish(procs, timeout: float) -> list[str]:
    """Every worker's output once all have ended; past `timeout` the test fails showing where each one was.

    A worker still running then gets SIGABRT, on which Python's fault handler prints every
    thread's stack; the rest are killed. No worker outlives its test, whatever happened.
    """
    import signal
    import subprocess
    import time

    started = time.monotonic()
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))[0])
    except subprocess.TimeoutExpired:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGABRT)
        time.sleep(3)
        outputs = []
        for p in procs:
            p.kill()
            outputs.append(p.communicate()[0] or "")
        shown = "\n".join(f"--- worker {i} (exit {p.returncode}):\n{out[-3000:]}" for i, (p, out) in enumerate(zip(procs, outputs)))
        pytest.fail(f"the workers were still running after {timeout:g} s\n{shown}")
    finally:
        stop_all(procs)
    return outputs


def stop_all(procs) -> None:
    """No worker outlives its test, whatever happened (a stopped one too: SIGKILL ends it)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def test_multiworker_training_on_loopback(tmp_path, fer_dir):
    """Two worker processes on 127.0.0.1 (TF_CONFIG each), one short epoch; only the chief writes the model."""
    data = tmp_path / "data"
    slice_of(fer_dir / "train", data / "train", 24)
    slice_of(fer_dir / "val", data / "val", 8)
    out = tmp_path / "m"
    procs, _ = start_workers(data, out, epochs=1)
    outputs = finish(procs, timeout=240)  # about 30 s alone, 65-80 s with three busy processes on 2 cores
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert "the chief writes the model" in outputs[1]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["training"]["strategy"] == {"name": "multiworker", "replicas": 2, "workers": 2, "per_replica_batch": 8, "global_batch": 16}
    assert meta["training"]["epochs_run"] == 1 and meta["training"]["seconds_per_epoch"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the worker's own folder is gone


def wait_until_training(procs, hosts) -> None:
    """Until both TensorFlow servers listen (the cluster has formed) and a few seconds into training."""
    import socket
    import time

    deadline = time.time() + 120
    while time.time() < deadline:
        up = 0
        for host in hosts:
            name, port = host.rsplit(":", 1)
            try:
                socket.create_connection((name, int(port)), timeout=1).close()
                up += 1
            except OSError:
                pass
        if up == 2 or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.5)
    time.sleep(5)
    if any(p.poll() is not None for p in procs):
        stop_all(procs)
        outputs = [p.communicate()[0] for p in procs]
        pytest.fail("a worker ended before training:\n" + "\n".join(out[-2000:] for out in outputs))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGSTOP"])
def test_a_multiworker_run_ends_when_a_worker_is_stopped_or_stuck(tmp_path, fer_dir, how):
    """SIGTERM ends a worker at once and the other then ends with a one-line error instead of waiting for ever.

    SIGSTOP leaves a worker that still accepts connections on its address but no longer takes
    part: the other one ends within --peer-timeout (or sooner, when TensorFlow notices). The
    timeout leaves room for the start, where the workers' exchanges can be seconds apart.
    """
    import signal

    data = tmp_path / "data"
    slice_of(fer_dir / "train", data / "train", 200)
    slice_of(fer_dir / "val", data / "val", 8)
    procs, hosts = start_workers(data, tmp_path / "m", 50, "--peer-timeout", "20")
    try:
        wait_until_training(procs, hosts)
        procs[1].send_signal(getattr(signal, how))
        if how == "SIGTERM":
            procs[1].wait(timeout=15)  # it was ignored before: TensorFlow catches SIGTERM
        chief_out = finish(procs[:1], timeout=60)[0]  # it waited for ever before
    finally:
        stop_all(procs)
    assert procs[0].returncode == 1, chief_out[-2000:]
    assert how == "SIGSTOP" or procs[1].returncode == -signal.SIGTERM
    errors = [line for line in chief_out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and hosts[1] in errors[0] and "stopped answering" in errors[0], chief_out[-2000:]
    assert "Traceback" not in chief_out


def test_mirrored_strategy_and_a_missing_tf_config(tmp_path, fer_dir):
    data = slice_of(fer_dir / "val", tmp_path / "data", 12)
    proc = run_cli(
        "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1", "--strategy", "mirrored", "--batch-size", "8", timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    strategy = json.loads((tmp_path / "m" / "metadata.json").read_text())["training"]["strategy"]
    assert strategy["name"] == "mirrored" and strategy["global_batch"] == 8 * strategy["replicas"]
    env = {"TF_CONFIG": ""}
    proc = run_cli("train", str(data), "--out", str(tmp_path / "m2"), "--strategy", "multiworker", env=env)
    assert_one_line_error(proc, "--strategy multiworker needs TF_CONFIG")
    assert not (tmp_path / "m2").exists()


def test_export_class_bias_sets_the_operating_point_everywhere(trained, tmp_path, fer_dir):
    from monitor.classifier import load_classifier
    from monitor.images import read_gray

    root, out, _, _ = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    files = sorted((fer_dir / "val" / "sad").iterdir())[:20] + sorted((fer_dir / "val" / "happy").iterdir())[:20]
    before = load_classifier(run)
    crops = np.stack([before.crop_rule.whole(read_gray(f)) for f in files])
    p0 = before.probabilities(crops)
    meta0 = json.loads((run / "metadata.json").read_text())
    proc = run_cli("train", "export", str(run), "--class-bias", "sad=1.0", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["class_bias"] == {"sad": 1.0} and meta["export_command"].endswith("--class-bias sad=1.0")
    for name in ("model.tflite", "model.keras"):  # both files, through the metadata
        p1 = load_classifier(run / name).probabilities(crops)
        expected = p0 * np.array([1.0, np.e])
        np.testing.assert_allclose(p1, expected / expected.sum(axis=1, keepdims=True), atol=1e-4)
    sad_recall = lambda m: m["metrics"]["val"]["per_class"]["sad"]["recall"]  # noqa: E731
    assert sad_recall(meta) >= sad_recall(meta0)  # re-measured with the bias
    trial = run_cli("train", "evaluate", str(root / "data"), "--model", str(out), "--class-bias", "sad=1.0", "--json", timeout=600)
    assert trial.returncode == 0, trial.stderr[-2000:]  # the same operating point tried without changing the model
    assert abs(json.loads(trial.stdout)["balanced_accuracy"] - meta["metrics"]["val"]["balanced_accuracy"]) < 1e-9
    assert_one_line_error(run_cli("train", "export", str(run), "--class-bias", "bored=1"), "--class-bias", "bored")
    back = run_cli("train", "export", str(run), "--class-bias", "sad=0", timeout=600)
    assert back.returncode == 0, back.stderr[-2000:]
    assert not json.loads((run / "metadata.json").read_text()).get("class_bias")  # sad=0 removes it


def test_the_write_check_of_two_workers_at_once_does_not_collide(tmp_path):
    """Both workers of a multi-worker run check --out's folder at the same moment (a full-suite run failed one).

    A fixed probe name lost that race: one worker's unlink removed the other's probe. Here the other
    worker's probe is present (as a folder, so that a fixed name cannot be written) while this one checks.
    """
    from train.run_folder import check_writable

    (tmp_path / ".write-test").mkdir()
    check_writable(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".write-test"]
