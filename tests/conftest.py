"""Fixtures: where the shared data sets are (a failure under CI when missing, else a skip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SHARED, _need, ferplus_faces, make_dodgy_files, run_cli


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


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One short training run on a split layout (happy and sad faces) with dodgy files mixed in: (root, model folder, process, dodgy).

    Trained once a session for every test that reads or copies it; none changes its files.
    """
    root = tmp_path_factory.mktemp("data")
    ferplus_faces(root / "data" / "train", "train", 120)
    ferplus_faces(root / "data" / "val", "val", 40)
    dodgy = make_dodgy_files(root / "data" / "train" / "sad")
    out = root / "model"
    proc = run_cli("train", str(root / "data"), "--out", str(out), "--epochs", "2", "--seed", "3", timeout=600)
    return root, out, proc, dodgy
