"""Probability bars beside each face and face blurring: what the overlay adds for the live mood view and privacy."""

from __future__ import annotations

import cv2
import numpy as np

from monitor.core.colours import NAMED_COLOURS
from monitor.core.types import Box, Face, Frame, FrameResult, Prediction
from monitor.vision.detect import HaarDetector
from monitor.vision.draw import bar_panel, blur_faces, draw

CLASSES = ("happy", "neutral", "sad")


def result_with(box: Box, probs=(0.2, 0.1, 0.7)) -> tuple[np.ndarray, FrameResult]:
    img = np.zeros((480, 640, 3), np.uint8)
    p = Prediction(probs, CLASSES)
    return img, FrameResult(Frame(img, 0, 0.0, 0.0), (Face(box, 1, p, p),))


def test_bars_are_drawn_beside_the_box_in_class_colours_and_only_when_asked():
    box = Box(200, 150, 100, 100)
    img, result = result_with(box)
    draw(img, result, bars=True)
    x, y, width, row = bar_panel(img, box, 3)
    assert x >= box.x + box.w  # right of the box: there is room
    panel = img[y : y + 3 * row, x : x + width]
    for name in CLASSES:
        assert (panel == NAMED_COLOURS[name]).all(axis=2).sum() > 0, name
    sad = (panel == NAMED_COLOURS["sad"]).all(axis=2).sum()
    happy = (panel == NAMED_COLOURS["happy"]).all(axis=2).sum()
    assert sad > 2.5 * happy  # bar length follows the probability (0.7 against 0.2)
    plain, result = result_with(box)
    draw(plain, result, bars=False)
    assert not plain[y : y + 3 * row, x : x + width].any()


def test_bars_go_left_of_a_face_at_the_right_edge():
    box = Box(560, 150, 70, 70)
    img, result = result_with(box)
    x, _, width, _ = bar_panel(img, box, 3)
    assert x + width <= box.x


def test_bars_stay_readable_for_three_faces_at_640x480():
    img = np.zeros((480, 640, 3), np.uint8)
    p = Prediction((0.2, 0.1, 0.7), CLASSES)
    boxes = [Box(40, 150, 90, 90), Box(260, 150, 90, 90), Box(470, 150, 90, 90)]
    panels = [bar_panel(img, b, 3) for b in boxes]
    assert all(row >= 9 and width >= 48 for _, _, width, row in panels)  # rows tall enough for text, bars long enough to compare
    spans = sorted((x, x + w) for x, _, w, _ in panels)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # no panel covers another
    draw(img, FrameResult(Frame(img, 0, 0.0, 0.0), tuple(Face(b, i, p, p) for i, b in enumerate(boxes, 1))), bars=True)


def test_a_blurred_face_is_no_longer_found_by_the_detector(videos_dir):
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    ok, image = cap.read()
    cap.release()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    detector = HaarDetector()
    found = detector.detect(gray)
    assert len(found) == 1
    blurred = image.copy()
    blur_faces(blurred, found)
    assert detector.detect(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY)) == []
    b = found[0]
    face = cv2.cvtColor(blurred[b.y : b.y + b.h, b.x : b.x + b.w], cv2.COLOR_BGR2GRAY)
    assert len(np.unique(face)) <= 100  # 8 x 8 flat blocks: no detail left
    outside = np.ones(gray.shape, bool)
    m = int(b.w * 0.15) + 1
    outside[max(0, b.y - m) : b.y + b.h + m, max(0, b.x - m) : b.x + b.w + m] = False
    assert (blurred[outside] == image[outside]).all()  # the rest of the frame is untouched
