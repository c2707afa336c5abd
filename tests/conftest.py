"""Shared fixtures: where the data sets are, and small generated pictures and videos."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL_DIR = ROOT / "models" / "happy-neutral-sad"  # the default model


def _need(path: Path) -> Path:
    """A path from ../shared; under CI its absence is a failure, elsewhere a skip."""
    if not path.exists():
        msg = f"{path} is missing (the shared data sets must sit beside the checkout)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def fer_dir() -> Path:
    return _need(SHARED / "datasets" / "fer2013-happy-sad")


@pytest.fixture(scope="session")
def ferplus_dir() -> Path:
    return _need(SHARED / "datasets" / "ferplus")


@pytest.fixture(scope="session")
def affectnet_dir() -> Path:
    return _need(SHARED / "datasets" / "affectnet")


@pytest.fixture(scope="session")
def web_dir() -> Path:
    return _need(SHARED / "datasets" / "web-happy-sad")


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    return _need(SHARED / "videos")


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m ...` from the project root, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="surrogateescape",  # file names that are not UTF-8 come back as they were printed
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A user mistake: exit code != 0, an 'error:' line naming the thing, no traceback."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def face_like(size: int = 96, smile: bool = True, seed: int = 0) -> np.ndarray:
    """A synthetic gray 'face' (not for accuracy, only for plumbing tests)."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 120, np.uint8)
    c = size // 2
    cv2.ellipse(img, (c, c), (size // 3, size * 2 // 5), 0, 0, 360, 200, -1)
    cv2.circle(img, (c - size // 8, c - size // 10), size // 20, 40, -1)
    cv2.circle(img, (c + size // 8, c - size // 10), size // 20, 40, -1)
    start, end = (0, 180) if smile else (180, 360)
    cv2.ellipse(img, (c, c + size // 6), (size // 8, size // 16), 0, start, end, 40, 2)
    noise = rng.integers(-10, 10, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)
