"""`pip install .` gives `emotion-monitor` and `emotion-train` commands that work from any folder, shipped model included."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_installed_commands_work_from_another_folder(tmp_path, videos_dir):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = subprocess.run([venv / "bin" / "pip", "install", "--quiet", "--no-deps", str(ROOT)], capture_output=True, text=True, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version = subprocess.run([venv / "bin" / "emotion-monitor", "--version"], capture_output=True, text=True, cwd=elsewhere)
    assert version.stdout.startswith("emotion-monitor ")
    run = subprocess.run(
        [
            venv / "bin" / "emotion-monitor",
            "--source",
            str(videos_dir / "single_face.mp4"),
            "--no-display",
            "--max-frames",
            "3",
            "--log",
            "m.csv",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (elsewhere / "m.csv").read_text().count("\n") >= 4  # header + a row per frame, from the installed model
    assert subprocess.run([venv / "bin" / "emotion-train", "--help"], capture_output=True, cwd=elsewhere).returncode == 0
