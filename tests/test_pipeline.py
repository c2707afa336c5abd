"""The pipeline composes detection, one batched classification and tracking; full scans every Nth frame."""

from __future__ import annotations

import numpy as np

from monitor.faces import Box, CropRule
from monitor.pipeline import Pipeline
from monitor.sources import Frame
from monitor.tracking import Tracker


class FakeClassifier:
    classes = ("happy", "sad")
    crop_rule = CropRule()

    def __init__(self):
        self.batches = []

    def probabilities(self, crops):
        self.batches.append(len(crops))
        return np.tile([[0.7, 0.3]], (len(crops), 1)).astype(np.float32)


def frame(i):
    return Frame(np.zeros((120, 160, 3), np.uint8), i, i / 30, 0.0)


def test_all_faces_of_a_frame_in_one_call_and_ids_kept():
    clf = FakeClassifier()
    pipe = Pipeline(lambda g: [Box(10, 10, 40, 40), Box(90, 10, 40, 40)], clf, Tracker())
    r1, r2 = pipe.analyze(frame(0)), pipe.analyze(frame(1))
    assert clf.batches == [2, 2]
    assert [f.face_id for f in r1.faces] == [f.face_id for f in r2.faces] == [1, 2]
    assert r1.faces[0].raw.label == "happy" and abs(r1.faces[0].raw.confidence - 0.7) < 1e-6
    assert set(pipe.seconds) == {"detect", "classify", "track"}


def test_full_scan_every_nth_frame_and_near_scan_between():
    calls = []

    def full(gray):
        calls.append("full")
        return [Box(10, 10, 40, 40)]

    def near(gray, previous):
        calls.append("near")
        return [Box(b.x + 1, b.y, b.w, b.h) for b in previous]

    pipe = Pipeline(full, FakeClassifier(), Tracker(), near, detect_every=3)
    boxes = [pipe.analyze(frame(i)).faces[0].box.x for i in range(7)]
    assert calls == ["full", "near", "near", "full", "near", "near", "full"]
    assert boxes == [10, 11, 12, 10, 11, 12, 10]


def test_no_face_frame():
    clf = FakeClassifier()
    r = Pipeline(lambda g: [], clf, Tracker()).analyze(frame(0))
    assert r.faces == () and clf.batches == [0]
