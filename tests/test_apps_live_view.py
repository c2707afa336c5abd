"""The live view: the mood strip, the face it follows, the keys, pausing, and the per-face summary at the end."""

from __future__ import annotations

import numpy as np

from monitor.apps.live_view import HINT, FaceTally, LiveView, MoodStrip, ViewState, Window
from monitor.core.colours import NAMED_COLOURS
from monitor.core.types import Box, Face, Frame, FrameResult, Prediction

CLASSES = ("happy", "neutral", "sad")


def face(face_id: int, box: Box, label: str) -> Face:
    probs = tuple(0.8 if c == label else 0.1 for c in CLASSES)
    p = Prediction(probs, CLASSES)
    return Face(box, face_id, p, p)


def result(t: float, *faces: Face) -> FrameResult:
    return FrameResult(Frame(np.zeros((480, 640, 3), np.uint8), int(t * 10), t, 0.0), faces)


def test_the_strip_follows_the_largest_face_and_shows_the_session_shares():
    state, strip = ViewState(), MoodStrip(CLASSES)
    view = LiveView(state, strip)
    small, large = Box(10, 10, 40, 40), Box(300, 100, 120, 120)
    for i in range(30):
        view(result(i / 10, face(1, small, "sad"), face(2, large, "happy" if i < 20 else "neutral")))
    assert strip.shares_text() == "happy 67%  |  neutral 33%  |  sad 0%"
    image = result(3.0).frame.image
    strip.draw(image)
    bottom = image[-5]
    assert (bottom == NAMED_COLOURS["happy"]).all(axis=1).any() and (bottom == NAMED_COLOURS["neutral"]).all(axis=1).any()
    assert not (bottom == NAMED_COLOURS["sad"]).all(axis=1).any()  # the small face is not followed


def test_a_click_or_the_f_key_chooses_the_followed_face():
    state = ViewState()
    a, b = face(1, Box(10, 10, 40, 40), "sad"), face(2, Box(300, 100, 120, 120), "happy")
    assert state.chosen((a, b)) is b
    state.click = (20, 20)
    assert state.chosen((a, b)) is a and state.chosen((a, b)) is a
    state.next_face((a, b))
    assert state.chosen((a, b)) is b


def test_keys_toggle_bars_strip_and_pause(monkeypatch):
    window = Window.__new__(Window)
    window.state, window._faces = ViewState(), ()
    for key, attr in ((" ", "paused"), ("b", "bars"), ("m", "strip")):
        before = getattr(window.state, attr)
        window.on_key(ord(key))
        assert getattr(window.state, attr) is (not before)


def test_paused_frames_are_marked_and_the_hint_is_shown_otherwise():
    view = LiveView(ViewState(strip=False), MoodStrip(CLASSES))
    r = result(0.0)
    view(r)
    hint_area = r.frame.image[380:470, 300:]
    assert (hint_area == (60, 60, 60)).all(axis=2).any() and HINT  # the key hint, bottom right above the strip
    view.state.paused = True
    r = result(0.1)
    view(r)
    assert (r.frame.image[380:470, 300:] == (0, 0, 200)).all(axis=2).any()  # the red PAUSED mark where the hint was


def test_the_tally_gives_one_line_per_face_with_its_time_and_shares():
    tally = FaceTally()
    for i in range(31):
        tally(result(i / 10, face(1, Box(0, 0, 50, 50), "happy" if i < 21 else "sad")))
    tally(result(3.1, face(2, Box(100, 0, 50, 50), "neutral")))
    assert tally.lines() == ["face 1: 31 frames over 3.0 s; happy 68%, sad 32%", "face 2: 1 frame over 0.0 s; neutral 100%"]
