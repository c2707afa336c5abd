"""The overlay draws boxes in the class colour and labels that fit the frame, at any size."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.classifier import Prediction
from monitor.faces import Box
from monitor.overlay import NAMED_COLOURS, draw
from monitor.pipeline import Face, FrameResult
from monitor.sources import Frame


@pytest.mark.parametrize("w, h", [(320, 240), (1280, 720), (3840, 2160)])
def test_box_and_label_are_drawn_in_class_colour(w, h):
    img = np.zeros((h, w, 3), np.uint8)
    box = Box(w // 3, h // 3, w // 4, w // 4)
    face = Face(box, 1, Prediction((0.9, 0.1), ("happy", "sad")), Prediction((0.9, 0.1), ("happy", "sad")))
    draw(img, FrameResult(Frame(img, 0, 0.0, 0.0), (face,)), fps=30.0)
    colour = np.array(NAMED_COLOURS["happy"])
    # the box's left edge is drawn in the happy colour
    assert (img[box.y + box.h // 2, box.x] == colour).all()
    # a label sits right above the box, in the same colour, with ink on it
    label = img[max(0, box.y - 8), box.x : box.x + 40]
    assert (label == colour).all(axis=1).any()
    # the status line is in the top-left corner
    assert img[:30, :60].any()
    # label text height grows with the frame (readable at 4K)
    rows = np.where((img[: box.y, box.x : box.x + 10] == colour).all(axis=2).any(axis=1))[0]
    assert len(rows) >= (12 if h < 500 else 20 if h < 1000 else 40)


def test_no_faces_only_status():
    img = np.zeros((240, 320, 3), np.uint8)
    draw(img, FrameResult(Frame(img, 0, 0.0, 0.0), ()))
    assert img[:40, :120].any() and not img[60:, :].any()
