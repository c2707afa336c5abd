"""monitor.core.metadata: a model's metadata.json read and written through one typed record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.core.metadata import Calibration, ModelMetadata
from tests.helpers import ROOT

SHIPPED = sorted((ROOT / "models").glob("*/metadata.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_metadata_round_trips_exactly(path: Path, tmp_path: Path):
    """The same keys in the same order with the same values (json.dumps compares order too); the writer indents by 2."""
    d = json.loads(path.read_text())
    meta = ModelMetadata.read(path)
    assert json.dumps(meta.to_dict()) == json.dumps(d)
    assert ModelMetadata.read(meta.write(tmp_path)) == meta
    if path.read_text().startswith('{\n  "'):
        assert meta.to_json() == path.read_text()
    assert isinstance(meta.calibration, Calibration) and meta.calibration.temperature > 0
    assert meta.classes == tuple(d["classes"]) and meta.seed == d["training"]["seed"]
    assert meta.fractions == tuple(d["data"]["fractions"]) and [str(p) for p in meta.data_dirs] == d["data"]["dir"]


def test_absent_and_unknown_keys_round_trip():
    d = {"classes": ["a", "b"], "crop_rule": {"size": 48, "margin": 0.0}, "class_bias": {}, "future": {"x": 1}}
    meta = ModelMetadata.from_dict(d)
    assert meta.to_dict() == d and meta.extra == {"future": {"x": 1}} and meta.class_bias == {}
    assert meta.calibration is None and meta.seed == 0 and meta.fractions == (0.15, 0.15) and meta.data_dirs == [] and meta.labels == "votes"
    assert "class_bias" not in meta.but(class_bias=None).to_dict()
    assert ModelMetadata.from_dict({**d, "data": {"dir": "data"}}).data_dirs == [Path("data")]


def test_it_imports_neither_tensorflow_nor_train():
    code = "import sys, monitor.core.metadata; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'train')))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_but_changes_the_key_order_as_a_dict_would():
    """A changed key keeps its place, a new one goes last, one removed and set again goes last: the files training wrote before."""
    meta = ModelMetadata.from_dict({"classes": ["a", "b"], "crop_rule": {"size": 48}, "metrics": {}, "future": 1})
    assert list(meta.but(classes=("b", "a")).to_dict()) == ["classes", "crop_rule", "metrics", "future"]
    assert list(meta.but(export_command="x", class_bias={}).to_dict()) == ["classes", "crop_rule", "metrics", "future", "export_command", "class_bias"]
    assert list(meta.but(metrics=None).but(metrics={"val": {}}).to_dict()) == ["classes", "crop_rule", "future", "metrics"]
    built = ModelMetadata(classes=("a", "b"), crop_rule={"size": 48}, format=1)
    assert list(built.to_dict()) == ["format", "classes", "crop_rule"]  # as constructed: the fields' order
