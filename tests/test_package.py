"""`pip install .` gives `emotion-monitor` and `emotion-train` commands that work from any folder, shipped model included."""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def test_installed_commands_work_from_another_folder(tmp_path, videos_dir):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    # When the tests themselves run in a virtual environment, --system-site-packages reaches the base Python's packages,
    # not that environment's: make this environment's packages (numpy, OpenCV, ...) visible to the new one too.
    inner = subprocess.run([venv / "bin" / "python", "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True)
    (Path(inner.stdout.strip()) / "outer-env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
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
    helped = subprocess.run([venv / "bin" / "emotion-train", "--help"], capture_output=True, text=True, cwd=elsewhere)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: emotion-train ")
    by_name = subprocess.run(
        [venv / "bin" / "emotion-monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", "happy-neutral-sad"]
        + ["--no-display", "--max-frames", "2", "--log", "n.csv"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
    )
    assert by_name.returncode == 0, by_name.stderr[-2000:]
    assert "p_neutral" in (elsewhere / "n.csv").read_text().splitlines()[0]  # the shipped model named, found from any folder
    listed = subprocess.run([venv / "bin" / "emotion-monitor", "--help"], capture_output=True, text=True, cwd=elsewhere).stdout
    assert "happy-neutral-sad" in listed and "happy-sad" in listed
    evaluate = subprocess.run([venv / "bin" / "emotion-monitor", "evaluate"], capture_output=True, text=True, cwd=elsewhere)
    assert evaluate.returncode == 2 and "Traceback" not in evaluate.stderr
    assert "--videos" in evaluate.stderr and "lib/python" not in evaluate.stderr  # says what to pass, no path inside the venv
