"""The overlay draws boxes in the class colour and labels that fit the frame, at any size."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.core.colours import NAMED_COLOURS
from monitor.core.types import Box, Face, Frame, FrameResult, Prediction
from monitor.vision.draw import draw


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


def test_labels_of_a_crowd_do_not_cover_each_other(monkeypatch):
    """A group photo: ten small faces side by side in two rows; every label gets its own spot."""
    import monitor.vision.draw as overlay

    drawn = []
    real = overlay.put_label
    monkeypatch.setattr(overlay, "put_label", lambda *a: drawn.append(real(*a)) or drawn[-1])
    img = np.zeros((600, 800, 3), np.uint8)
    classes = ("happy", "neutral", "sad")
    faces = tuple(
        Face(
            Box(60 + 60 * (i % 5), 200 + 70 * (i // 5), 50, 50),
            i + 1,
            Prediction((0.5, 0.3, 0.2), classes),
            Prediction((0.5, 0.3, 0.2), classes),
        )
        for i in range(10)
    )
    draw(img, FrameResult(Frame(img, 0, 0.0, 0.0), faces))
    labels = drawn  # the last one is the status line: nothing covers it either
    assert len(labels) == 11
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_three_classes_and_any_class_name_get_distinct_colours():
    from monitor.core.colours import class_colour

    classes = ("happy", "neutral", "sad", "bored")
    colours = [class_colour(c, classes) for c in classes]
    assert len(set(colours)) == 4 and colours[1] == NAMED_COLOURS["neutral"]
    img = np.zeros((240, 320, 3), np.uint8)
    face = Face(Box(100, 100, 80, 80), 1, Prediction((0.1, 0.1, 0.1, 0.7), classes), Prediction((0.1, 0.1, 0.1, 0.7), classes))
    draw(img, FrameResult(Frame(img, 0, 0.0, 0.0), (face,)))
    assert (img[140, 100] == np.array(colours[3])).all()  # the box in bored's colour


def test_eight_classes_have_colours_that_can_be_told_apart():
    from monitor.core.colours import class_colour

    classes = ("angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    colours = [np.array(class_colour(c, classes), float) for c in classes]
    closest = min(np.linalg.norm(a - b) for i, a in enumerate(colours) for b in colours[i + 1 :])
    assert closest > 80  # no two classes share (nearly) one colour


def _label(text: str) -> tuple[np.ndarray, tuple]:
    from monitor.vision.draw import put_label

    img = np.zeros((60, 400, 3), np.uint8)
    return img, put_label(img, text, 0, 0, (0, 200, 0), 0.8, 2)


def _as_opencv_draws(text: str) -> str:
    """What OpenCV's Hershey font makes of text: a '?' for every UTF-8 byte of a non-ASCII letter."""
    return "".join(c if c.isascii() else "?" * len(c.encode()) for c in text)


@pytest.mark.parametrize("text", ["café 90%  #1", "грусть 90%  #1", "悲しい 90%  #1"])
def test_non_ascii_labels_are_drawn_in_their_letters_not_question_marks(text):
    drawn, rect = _label(text)
    questions, _ = _label(_as_opencv_draws(text))
    assert drawn[rect[1] : rect[3], rect[0] : rect[2]].std() > 20  # ink on the label
    assert not (drawn == questions).all()


def test_letters_no_font_has_are_drawn_as_code_points():
    """A fresh machine has no CJK font: the label reads \\u60b2\\u3057\\u3044 (drawn by OpenCV), never ???."""
    from monitor.vision.text import as_drawn
    from tests.helpers import only_bundled_font

    with only_bundled_font():
        assert as_drawn("悲しい 90%") == "\\u60b2\\u3057\\u3044 90%" and as_drawn("café") == "café"
        drawn, _ = _label("悲しい 90%  #1")
    escaped, _ = _label("\\u60b2\\u3057\\u3044 90%  #1")
    assert (drawn == escaped).all()


def test_ascii_labels_are_drawn_by_opencv_exactly_as_before():
    import cv2

    drawn, (x0, y0, x1, y1) = _label("happy 90%  #1")
    expected = np.zeros_like(drawn)
    (tw, th), base = cv2.getTextSize("happy 90%  #1", cv2.FONT_HERSHEY_SIMPLEX, 0.8, 2)
    assert (x1, y1) == (tw + 4, th + base + 4)
    cv2.rectangle(expected, (0, 0), (x1, y1), (0, 200, 0), cv2.FILLED)
    cv2.putText(expected, "happy 90%  #1", (2, th + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    assert (drawn == expected).all()


def test_bars_of_a_class_no_font_has_show_its_index():
    from tests.helpers import only_bundled_font

    def bars(classes):
        img = np.zeros((240, 320, 3), np.uint8)
        face = Face(Box(40, 60, 80, 80), 1, Prediction((0.7, 0.3), classes), Prediction((0.7, 0.3), classes))
        draw(img, FrameResult(Frame(img, 0, 0.0, 0.0), (face,)), bars=True)
        return img[60:80, 124:240]

    with only_bundled_font():
        assert (bars(("悲しい", "sad")) == bars(("0", "sad"))).all()
