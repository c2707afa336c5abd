"""The pipeline composes detection, one batched classification and tracking; full scans every Nth frame."""

from __future__ import annotations

import cv2
import numpy as np

from monitor.core.crop import CropRule
from monitor.core.types import Box, Frame
from monitor.vision.detect import Stillness
from monitor.vision.pipeline import Pipeline
from monitor.vision.track import Tracker


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


def textured(i, shift=0, noise=0.0):
    """A 120x160 frame with a face-sized textured patch, moved right by `shift` pixels, with camera noise."""
    rng = np.random.default_rng(1)
    image = np.full((120, 160), 90, np.float32)
    image[20:80, 40 + shift : 100 + shift] = cv2.GaussianBlur(rng.uniform(0, 255, (60, 60)).astype(np.float32), (0, 0), 3) * 2 - 100
    image += np.random.default_rng(100 + i).normal(0, noise, image.shape)
    return Frame(cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR), i, i / 30, 0.0)


def test_a_still_face_keeps_its_box_between_full_scans_and_a_move_is_re_found():
    """Between full scans a face whose surroundings look as they did is not re-found; a 3-pixel move is."""
    calls = []

    def full(gray):
        calls.append("full")
        return [Box(40, 20, 60, 60)]

    def near(gray, previous):
        calls.append("near")
        return [Box(b.x + 3, b.y, b.w, b.h) for b in previous]

    clf = FakeClassifier()
    pipe = Pipeline(full, clf, Tracker(), near, detect_every=4, still=Stillness(1.0))
    frames = [textured(0, noise=2), textured(1, noise=2), textured(2, noise=2), textured(3, shift=3, noise=2), textured(4, shift=3)]
    boxes = [pipe.analyze(f).faces[0].box.x for f in frames]
    assert calls == ["full", "near", "full"] and pipe.kept == 2  # camera noise alone (sigma 2) keeps the box
    assert boxes == [40, 40, 40, 43, 40] and clf.batches == [1] * 5  # every frame still classified from its own pixels
    assert Stillness(1.0).unchanged(cv2.cvtColor(frames[0].image, cv2.COLOR_BGR2GRAY), [Box(40, 20, 60, 60)]) is False  # nothing remembered


def test_no_face_frame():
    clf = FakeClassifier()
    r = Pipeline(lambda g: [], clf, Tracker()).analyze(frame(0))
    assert r.faces == () and clf.batches == [0]


def test_a_face_the_refind_loses_is_found_by_a_full_scan_at_once():
    calls = []

    def full(gray):
        calls.append("full")
        return [Box(10, 10, 40, 40)]

    def near(gray, previous):
        calls.append("near")
        return []  # the cheap re-find misses the face

    pipe = Pipeline(full, FakeClassifier(), Tracker(), near, detect_every=4)
    results = [pipe.analyze(frame(i)) for i in range(3)]
    assert calls == ["full", "near", "full", "near", "full"]
    assert all(len(r.faces) == 1 for r in results) and pipe.rescans == 2  # never a no-face row for a visible face


def test_with_no_known_face_every_frame_is_a_full_scan():
    calls = []
    pipe = Pipeline(lambda g: calls.append("full") or [], FakeClassifier(), Tracker(), lambda g, p: calls.append("near") or [], 4)
    for i in range(3):
        pipe.analyze(frame(i))
    assert calls == ["full"] * 3  # a face entering an empty scene is found on its first frame


class RecordingClassifier(FakeClassifier):
    """Remembers the crops it was given, with a crop rule of its own (as read from a model's metadata)."""

    crop_rule = CropRule(size=32, margin=0.3)

    def probabilities(self, crops):
        self.crops = crops
        return super().probabilities(crops)


def test_the_pipeline_crops_with_the_models_own_rule():
    clf = RecordingClassifier()
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    box = Box(40, 30, 50, 50)
    Pipeline(lambda g: [box], clf, Tracker()).analyze(Frame(image, 0, 0.0, 0.0))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert clf.crops.shape == (1, 32, 32)
    np.testing.assert_array_equal(clf.crops[0], CropRule(size=32, margin=0.3).crop(gray, box))


def test_evaluation_crops_with_the_models_own_rule(tmp_path):
    from train.data.samples import Sample, Scan
    from train.evaluate import predict_split

    image = np.random.default_rng(1).integers(0, 255, (120, 160), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    box = Box(40, 30, 50, 50)
    scan = Scan(classes=["happy", "sad"], splits={"val": [Sample(str(tmp_path / "a.png"), 0, box)]})
    clf = RecordingClassifier()
    predict_split(clf, scan, "val")
    np.testing.assert_array_equal(clf.crops[0], CropRule(size=32, margin=0.3).crop(image, box))
