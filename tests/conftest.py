"""Fixtures: where the shared data sets are (a failure under CI when missing, else a skip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import MODEL_DIR, ROOT, SHARED, _need, assert_one_line_error, face_like, run_cli  # noqa: F401 (train tests import these from here until moved)


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
