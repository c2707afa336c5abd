"""train.step_time: the per-epoch timing used to compare devices reports what it measured."""

from __future__ import annotations

import json

from tests.helpers import run_cli
from train.step_time import step_time


def test_times_epochs_of_the_project_network():
    result = step_time(faces=96, classes=3, batch_size=32, epochs=2)
    assert result["faces"] == 96 and result["batch_size"] == 32
    assert result["backend"] == "tensorflow" and result["device"].startswith(("CPU", "GPU"))
    assert 0 < result["seconds_per_epoch"] <= result["first_epoch_s"] * 10
    assert abs(result["faces_per_s"] - 96 / result["seconds_per_epoch"]) < 0.05 * result["faces_per_s"] + 1


def test_command_prints_one_line_per_batch_size():
    proc = run_cli("train.step_time", "--faces", "64", "--epochs", "2", "--batch-size", "16", "32", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["batch_size"] for r in lines] == [16, 32]
