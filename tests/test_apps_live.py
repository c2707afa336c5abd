"""Pieces of the command line that need no video: option checks, the window's ways to quit, the output video's timing."""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest

from monitor.apps import signals
from monitor.apps.live_view import Window
from monitor.apps.options import check_options, parser
from monitor.core.errors import UserError
from monitor.io.video_sink import VideoSink
from tests.helpers import video_times


def args(**overrides) -> argparse.Namespace:
    return parser().parse_args([]) if not overrides else argparse.Namespace(**{**vars(parser().parse_args([])), **overrides})


@pytest.mark.parametrize("option, value", [("smooth", 0), ("stride", -1), ("detect_every", 0), ("max_frames", 0), ("min_face", 10)])
def test_each_bad_option_is_named(option, value):
    with pytest.raises(UserError, match=f"--{option.replace('_', '-')} {value}: must be at least"):
        check_options(args(**{option: value}))


def test_good_options_pass():
    check_options(args(max_frames=5, min_face=24))


class FakeHighGui:
    """cv2's window functions for a window the user closes with its button after `frames_open` frames."""

    def __init__(self, frames_open: int, raise_when_closed: bool):
        self.shown, self.frames_open, self.raise_when_closed = 0, frames_open, raise_when_closed

    def imshow(self, title, image):
        self.shown += 1

    def waitKey(self, ms):  # noqa: N802 (OpenCV's name)
        return -1

    def getWindowProperty(self, title, prop):  # noqa: N802
        if self.shown > self.frames_open:
            if self.raise_when_closed:
                raise cv2.error("NULL window")
            return -1.0
        return 1.0


@pytest.mark.parametrize("raise_when_closed", [False, True])
def test_closing_the_window_quits_like_q(monkeypatch, raise_when_closed):
    gui = FakeHighGui(frames_open=3, raise_when_closed=raise_when_closed)
    for name in ("imshow", "waitKey", "getWindowProperty"):
        monkeypatch.setattr(cv2, name, getattr(gui, name))
    window = Window()
    image = np.zeros((4, 4, 3), np.uint8)
    assert [window.show(image) for _ in range(3)] == [True, True, True]
    assert window.show(image) is False  # closed: a quit, not "cannot open a window here"


def test_q_quits_and_a_missing_gui_is_a_user_error(monkeypatch):
    monkeypatch.setattr(cv2, "imshow", lambda *a: None)
    monkeypatch.setattr(cv2, "waitKey", lambda ms: ord("q"))
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0)
    assert Window().show(np.zeros((4, 4, 3), np.uint8)) is False

    def no_gui(*a):
        raise cv2.error("The function is not implemented")

    monkeypatch.setattr(cv2, "imshow", no_gui)
    with pytest.raises(UserError, match="cannot open a window here"):
        Window().show(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_output_video_lasts_as_long_as_the_live_session(tmp_path, suffix):
    """Each frame at its capture time, shown until the next: frames a live source dropped are covered, 2 s of stream = 2 s of video."""
    path = tmp_path / f"out{suffix}"
    sink = VideoSink(path, fps=10.0)
    image = np.zeros((48, 64, 3), np.uint8)
    times = [0.0, 0.1, 0.5, 1.25, 1.9]  # frames arrived irregularly, most dropped
    for t in times:
        sink.write(image, stream_time_s=t)
    sink.close()
    got, duration = video_times(path)
    slot = 0.1 if suffix == ".avi" else 1e-4  # AVI has a constant rate: each frame in its nearest slot
    assert sink.written == 5 and np.allclose(got, times, atol=slot / 2 + 1e-9)
    assert duration == pytest.approx(2.0, abs=1e-3)  # the last frame lasts 1 / fps


def test_output_keeps_a_variable_frame_rate_and_skipped_frames(tmp_path):
    """Frames at their own uneven times (a phone video, or every 3rd frame of --stride 3): none drifts, the video lasts as long."""
    times = [0.0, 1 / 30, 2 / 30, 0.3, 0.35, 1.0, 1.1]
    sink = VideoSink(tmp_path / "out.mp4", fps=10.0)
    for i, t in enumerate(times):
        sink.write(np.full((48, 64, 3), i * 30, np.uint8), t + 5.0)  # counted from the first frame written
    sink.close()
    got, duration = video_times(tmp_path / "out.mp4")
    assert np.allclose(got, times, atol=1e-4)
    assert duration == pytest.approx(1.2, abs=1e-3)


def test_batch_output_writes_each_frame_once(tmp_path):
    sink = VideoSink(tmp_path / "out.avi", fps=10.0)
    for _ in range(7):
        sink.write(np.zeros((48, 64, 3), np.uint8))
    sink.close()
    assert sink.written == 7


def test_sigterm_is_not_swallowed_by_code_that_catches_exception(monkeypatch):
    """A SIGTERM landing in library code with `except Exception` (pandas, a worker's wait) must still stop the run."""
    import os
    import signal

    previous = signal.signal(signal.SIGTERM, signals.raise_stop)
    try:
        with pytest.raises(signals.Stop):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):  # the handler runs between bytecodes, here
                    pass
            except Exception:  # as a library might
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)
