"""train/run_folder.py: --out is written only by a run that succeeds, never silently replaced; a stopped run resumes."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.helpers import assert_one_line_error, face_like, run_cli, slice_of


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_finished_epoch(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import cv2

    from tests.helpers import ROOT

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
    assert f"resumed after epoch {done} of 3\n" in resumed.stdout  # printed whatever `done` is (3 too), and not stopped early
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "whole").iterdir())
    a, b = (json.loads((d / "metadata.json").read_text())["training"] for d in (tmp_path / "whole", out))
    assert a["epochs_run"] == b["epochs_run"] == 3
    assert len(pd.read_csv(out / "history.csv")) == 3  # the epochs before the kill are part of the history
    assert not checkpoint.exists()
    nothing = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "new"), *args, "--resume", timeout=120)
    assert_one_line_error(nothing, "--resume", "no interrupted run")


@pytest.mark.slow
def test_out_folder_is_never_silently_replaced(trained, tmp_path):
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
    tiny = slice_of(root / "data" / "val", tmp_path / "tiny", 12)
    proc = run_cli("train", str(tiny), "--out", str(again), "--epochs", "1", "--overwrite", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((again / "metadata.json").read_text())
    assert meta["data"]["dir"] == str(tiny) and "--overwrite" in meta["command"]
    assert "README.md" in proc.stdout and (again / "README.md").read_text() == "notes"


@pytest.mark.slow
def test_a_failed_run_leaves_no_output_folder(tmp_path):
    for name in ("happy", "sad"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "x.jpg").write_text("not a picture")
    out = tmp_path / "run"
    proc = run_cli("train", str(tmp_path / "data"), "--out", str(out))
    assert_one_line_error(proc, "no usable picture")
    assert not out.exists()


@pytest.mark.slow
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


def test_the_write_check_of_two_workers_at_once_does_not_collide(tmp_path):
    """Both workers of a multi-worker run check --out's folder at the same moment (a full-suite run failed one).

    A fixed probe name lost that race: one worker's unlink removed the other's probe. Here the other
    worker's probe is present (as a folder, so that a fixed name cannot be written) while this one checks.
    """
    from train.run_folder import check_writable

    (tmp_path / ".write-test").mkdir()
    check_writable(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".write-test"]
