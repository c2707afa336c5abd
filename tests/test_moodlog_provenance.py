"""The sidecar next to a mood log says which model and settings wrote each run."""

from __future__ import annotations

import json

from monitor.moodlog.provenance import append_run, label_settings, read_runs, run_record, sidecar_path
from monitor.vision.classify import load_classifier
from tests.helpers import MODEL_DIR


def test_records_are_appended_one_per_run_and_read_back(tmp_path):
    log = tmp_path / "mood.csv"
    classifier = load_classifier(MODEL_DIR)
    first = run_record(classifier, "0", {"smooth": 5, "detect_every": 4, "min_face": None, "stride": 1, "classes": None, "class_bias": None, "mode": "live"})
    append_run(log, first)
    second = run_record(classifier.with_class_bias({"sad": 1.0}), "clip.mp4", {**first["settings"], "class_bias": {"sad": 1.0}})
    append_run(log, second)
    assert sidecar_path(log) == tmp_path / "mood.csv.json"
    runs = read_runs(log)
    assert [r["source"] for r in runs] == ["0", "clip.mp4"]
    model = runs[0]["model"]
    assert model["name"] == "happy-neutral-sad" and model["classes"] == ["happy", "neutral", "sad"] and len(model["sha256"]) == 64
    assert model["temperature"] == json.loads((MODEL_DIR / "metadata.json").read_text())["calibration"]["temperature"]
    assert runs[1]["model"]["class_bias"] == {"sad": 1.0}
    assert label_settings(runs[0]) != label_settings(runs[1]) and label_settings(runs[0]) == label_settings(first)


def test_a_missing_or_damaged_sidecar_reads_as_no_records(tmp_path):
    log = tmp_path / "mood.csv"
    assert read_runs(log) == []
    sidecar_path(log).write_text("{not json")
    assert read_runs(log) == []
