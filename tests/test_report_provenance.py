"""The report says which model and settings made each run (from the logs' sidecars) and warns when they differ."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def test_the_report_names_the_model_per_run_and_warns_on_a_mix(tmp_path, videos_dir):
    plain, leaning = tmp_path / "plain.csv", tmp_path / "leaning.csv"
    video = str(videos_dir / "grin.mp4")
    for log, extra in ((plain, []), (leaning, ["--class-bias", "sad=1"])):
        proc = run_cli("monitor", "--source", video, "--no-display", "--quiet", "--log", str(log), *extra)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((tmp_path / f"{log.name}.json").read_text())["runs"][0]["settings"]["class_bias"] == (None if not extra else {"sad": 1.0})
    one = run_cli("monitor", "report", str(plain), "--out", str(tmp_path / "r1"))
    assert one.returncode == 0, one.stderr
    assert "model       happy-neutral-sad " in one.stdout and "not comparable" not in one.stdout
    both = run_cli("monitor", "report", str(plain), str(leaning), "--out", str(tmp_path / "r2"))
    assert both.returncode == 0, both.stderr
    assert "models:" in both.stdout and "class bias sad=1: 1 run" in both.stdout
    assert "2 different models or settings" in both.stdout and "not comparable" in both.stdout
    data = json.loads(run_cli("monitor", "report", str(plain), str(leaning), "--json", "--out", str(tmp_path / "r3")).stdout)
    biases = sorted(json.dumps(r["model"]["settings"]["class_bias"]) for r in data["runs"])
    assert biases == ['null', '{"sad": 1.0}'] and all(len(r["model"]["model"]["sha256"]) == 64 for r in data["runs"])
    assert any("not comparable" in n for n in data["notes"])


def test_jsonl_lines_parse_and_match_the_csv_rows(tmp_path, videos_dir):
    import pandas as pd

    log = tmp_path / "log.csv"
    proc = run_cli("monitor", "--source", str(videos_dir / "grin.mp4"), "--no-display", "--quiet", "--log", str(log), "--jsonl")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    rows = pd.read_csv(log)
    assert len(lines) == rows["frame"].nunique() == 78
    faces = [(r["frame"], f["face_id"], f["label"], f["confidence"], f["probabilities"]["sad"]) for r in lines for f in r["faces"]]
    expected = list(rows.dropna(subset=["face_id"])[["frame", "face_id", "label", "confidence", "p_sad"]].itertuples(index=False, name=None))
    assert [(int(a), int(b), c, d, e) for a, b, c, d, e in expected] == faces
    assert lines[0]["stream_time_s"] == rows["stream_time_s"].iloc[0] and lines[0]["source"] == rows["source"].iloc[0]


def test_a_reader_that_stops_early_ends_the_run_cleanly(tmp_path, videos_dir):
    import subprocess
    import sys

    from tests.helpers import ROOT

    log = tmp_path / "log.csv"
    cmd = f"{sys.executable} -m monitor --source {videos_dir / 'frown_then_smile.mp4'} --no-display --quiet --log {log} --jsonl | head -c 10"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
