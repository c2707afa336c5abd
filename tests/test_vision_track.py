"""Face ids stay stable while a face moves; labels are smoothed over a window."""

from __future__ import annotations

import numpy as np

from monitor.core.types import Box
from monitor.vision.track import Tracker


def test_ids_follow_moving_faces_and_new_faces_get_new_ids():
    t = Tracker(window=1)
    p = np.array([[0.5, 0.5], [0.5, 0.5]])
    ids0 = [i for i, _ in t.update([Box(0, 0, 50, 50), Box(200, 0, 50, 50)], p)]
    ids1 = [i for i, _ in t.update([Box(205, 3, 50, 50), Box(4, 2, 50, 50)], p)]  # moved, order swapped
    assert ids0 == [1, 2] and ids1 == [2, 1]
    ids2 = [i for i, _ in t.update([Box(400, 300, 40, 40)], p[:1])]
    assert ids2 == [3]


def test_face_missing_briefly_keeps_id_then_is_forgotten():
    t = Tracker(window=1, max_missed=2)
    one = np.array([[1.0, 0.0]])
    assert t.update([Box(0, 0, 50, 50)], one)[0][0] == 1
    t.update([], one[:0])
    t.update([], one[:0])
    assert t.update([Box(2, 2, 50, 50)], one)[0][0] == 1  # back after 2 missed frames
    for _ in range(3):
        t.update([], one[:0])
    assert t.update([Box(2, 2, 50, 50)], one)[0][0] == 2  # gone too long: a new face


def test_smoothing_averages_window_and_can_be_turned_off():
    box = Box(0, 0, 50, 50)
    seq = [[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]]  # one flickering frame
    smooth, raw = Tracker(window=3), Tracker(window=1)
    for p in seq:
        (_, s), (_, r) = smooth.update([box], np.array([p]))[0], raw.update([box], np.array([p]))[0]
    assert np.argmax(s) == 0 and np.allclose(s, [2.0 / 3, 1.0 / 3])
    assert np.argmax(r) == 1 and np.allclose(r, [0.2, 0.8])
