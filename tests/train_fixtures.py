"""The train tests' shared fixture, a pytest plugin (`pytest_plugins = ["tests.train_fixtures"]` in a test module):
one trained tiny model for the whole session instead of one per test file."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.test_images import make_dodgy_files
from tests.train_helpers import ferplus_faces


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
