"""`python -m monitor evaluate`: scoring the monitor (and a peer) on videos labelled by eye and on photo folders."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from monitor.core.errors import UserError
from monitor.evaluation.truth import Tally, load_truth, score_video
from monitor.evaluation.videos import evaluate_videos
from tests.helpers import assert_one_line_error, run_cli


def test_tally_counts_no_face_as_wrong():
    t = Tally()
    for truth, shown in [("happy", "happy"), ("happy", None), ("sad", "happy"), ("sad", "sad")]:
        t.add(truth, shown)
    d = t.to_dict()
    assert (d["scored"], d["right"], d["no_face"], d["accuracy"]) == (4, 2, 1, 0.5)
    assert d["per_class"]["happy"] == {"right": 1, "total": 2, "no_face": 1, "accuracy": 0.5}
    t.add("neutral", "neutral")
    assert t.to_dict()["mean_recall"] == (0.5 + 0.5 + 1.0) / 3  # each labelled class counts alike


def test_labels_the_model_lacks_are_skipped_and_counted():
    labels = {0: "happy", 1: "neutral", 2: "sad", 5: "happy"}
    shown = [(i, "happy") for i in range(6)]
    tally, skipped = score_video(None, labels, ("happy", "sad"), shown)
    assert tally.to_dict()["scored"] == 3 and tally.to_dict()["right"] == 2 and skipped == {"neutral": 1}


def test_truth_file_errors(tmp_path):
    with pytest.raises(UserError, match="truth file not found"):
        load_truth(tmp_path / "nope.json")
    bad = tmp_path / "t.json"
    bad.write_text('{"a.mp4": {"frames": 3}}')
    with pytest.raises(UserError, match="not a truth file"):
        load_truth(bad)
    bad.write_text('{"a.mp4": {"ranges": [[0, 2, "happy"]]}}')
    assert load_truth(bad) == {"a.mp4": {0: "happy", 1: "happy", 2: "happy"}}


@pytest.fixture()
def small_truth(tmp_path, videos_dir):
    """single_face.mp4 (neutral, then a broad smile) and no_face.mp4, with labels made here."""
    for name in ("single_face.mp4", "no_face.mp4"):
        (tmp_path / name).symlink_to(videos_dir / name)
    truth = {
        "single_face.mp4": {"ranges": [[0, 9, "neutral"], [30, 49, "happy"], [50, 59, "sad"]]},  # 50-59 smile: "sad" is wrong
        "no_face.mp4": {"ranges": [[0, 4, "happy"]]},  # nobody there: no face = wrong
    }
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(truth))
    return path


def test_peer_is_scored_on_the_same_frames(small_truth):
    from monitor.vision.classify import load_classifier
    from monitor.vision.pipeline import make_pipeline

    clf = load_classifier("happy-sad")  # neutral frames are not scored for it
    seen = []

    def peer(image):
        seen.append(image.shape)
        return "sad"

    r = evaluate_videos(small_truth, lambda: make_pipeline(clf, 5, 4), clf.classes, peer, progress=lambda s: None)
    fer = r["overall"]["fer"]
    assert fer["scored"] == 35 and fer["right"] == 10 and fer["per_class"]["sad"]["right"] == 10
    assert len(seen) == 35  # only annotated frames with a class the model has


@pytest.mark.slow
def test_evaluate_command_on_a_small_truth_file(small_truth, tmp_path):
    proc = run_cli("monitor", "evaluate", "--videos", str(small_truth), "--model", "happy-sad", "--no-fer", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout)["videos"]
    single, empty = r["videos"]["single_face.mp4"]["monitor"], r["videos"]["no_face.mp4"]["monitor"]
    assert single["per_class"]["happy"] == {"right": 20, "total": 20, "no_face": 0, "accuracy": 1.0}
    assert single["per_class"]["sad"]["right"] == 0  # a broad smile is not sad
    assert empty == {
        "scored": 5, "right": 0, "accuracy": 0.0, "mean_recall": 0.0, "no_face": 5,
        "per_class": {"happy": {"right": 0, "total": 5, "no_face": 5, "accuracy": 0.0}},
    }  # fmt: skip
    assert r["skipped_labels"] == {"neutral": 10} and r["overall"]["monitor"]["scored"] == 35
    table = run_cli("monitor", "evaluate", "--videos", str(small_truth), "--model", "happy-sad", "--no-fer")
    assert "ALL" in table.stdout and "20/20" in table.stdout and "not scored): neutral 10" in table.stdout
    assert "monitor recall per class: happy 0.800, sad 0.000; mean 0.400" in table.stdout  # 20/25 happy (5 without a face), 0/10 sad


@pytest.mark.slow
def test_photo_recall_and_accuracy(tmp_path, videos_dir):
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    frames = [cap.read()[1] for _ in range(60)]
    cap.release()
    (tmp_path / "happy").mkdir()
    (tmp_path / "walls").mkdir()
    for i in (40, 50, 59):
        cv2.imwrite(str(tmp_path / "happy" / f"{i}.jpg"), frames[i])
    cv2.imwrite(str(tmp_path / "walls" / "w.png"), np.full((200, 200), 90, np.uint8))
    proc = run_cli("monitor", "evaluate", "--photos", str(tmp_path), "--model", "happy-sad", "--no-fer", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    p = json.loads(proc.stdout)["photos"]["classes"]
    assert p["happy"]["monitor"] == {"found": 3, "recall": 1.0, "right": 3, "accuracy": 1.0}
    assert p["walls"]["monitor"] == {"found": 0, "recall": 0.0}  # not a class of the model: recall only


def test_bad_arguments(tmp_path):
    assert_one_line_error(run_cli("monitor", "evaluate", "--videos", str(tmp_path / "t.json")), "t.json", "not found")
    assert_one_line_error(run_cli("monitor", "evaluate", "--photos", str(tmp_path / "none")), "none", "not found")
    assert_one_line_error(run_cli("monitor", "evaluate", "--per-class", "0"), "--per-class")


def test_held_out_pictures_of_a_models_own_run_are_scored_by_both_commands(tmp_path, videos_dir):
    """A model that learnt from a class-folder set beside others is scored on the part its run held out, never trained on."""
    import shutil

    from monitor.core.split import held_out
    from tests.helpers import ROOT

    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    frames = [cap.read()[1] for _ in range(40)]
    cap.release()
    wild = tmp_path / "wild"
    for name in ("happy", "sad"):
        (wild / name).mkdir(parents=True)
        for i in range(20):
            cv2.imwrite(str(wild / name / f"{i}.jpg"), frames[i + (20 if name == "happy" else 0)])
    model = tmp_path / "model"
    shutil.copytree(ROOT / "models" / "happy-sad", model)
    meta = json.loads((model / "metadata.json").read_text())
    meta["data"] = {"dir": ["../shared/datasets/ferplus", str(wild)], "fractions": [0.15, 0.15]}
    meta["training"]["seed"] = 3
    (model / "metadata.json").write_text(json.dumps(meta))
    expected = held_out(wild, ["happy", "sad"], 3, (0.15, 0.15))
    assert len(expected) == 6  # 3 of each class's 20

    proc = run_cli("monitor", "evaluate", "--held-out", str(wild), "--model", str(model), "--no-fer", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)["held_out"][0]["classes"]
    assert {c: got[c]["pictures"] for c in got} == {"happy": 3, "sad": 3}
    text = run_cli("monitor", "evaluate", "--held-out", str(wild), "--model", str(model), "--no-fer").stdout
    assert f"held-out pictures of {wild}" in text and "monitor mean recall over the 2 classes" in text
    ev = run_cli("train", "evaluate", str(wild), "--held-out", "--model", str(model), "--faces", "detect", "--json", timeout=300)
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    assert m["split"] == "held out" and m["images"] == 6
    # a model that never saw the folder: the part a default run (seed 0, 15/15 %) would hold out, or a named model's hold-out
    other = run_cli("train", "evaluate", str(wild), "--held-out", "--model", "happy-sad", "--faces", "detect", "--json")
    assert other.returncode == 0 and json.loads(other.stdout)["images"] == len(held_out(wild, ["happy", "sad"], 0, (0.15, 0.15)))
    borrowed = run_cli("train", "evaluate", str(wild), "--held-out", str(model), "--model", "happy-sad", "--faces", "detect", "--json")
    assert borrowed.returncode == 0 and json.loads(borrowed.stdout)["images"] == 6, borrowed.stderr[-2000:]
