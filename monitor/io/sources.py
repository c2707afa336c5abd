"""Where frames come from: a camera index, a video file or a stream URL, through one code path.

`open_source` turns the `--source` argument into an opened `cv2.VideoCapture`. `frames`
reads every frame (batch mode); `LatestFrameReader` reads on its own thread and keeps only
the newest frame, so a slow frame never makes the picture fall behind (live mode, and
`--realtime`, which plays a file at its own rate as if it were a camera). A file's frames are
timed by the container's own timestamps (`StreamClock`), so a variable-frame-rate video (most
phone recordings) is logged, paced and recorded at its real times.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from monitor.core.errors import UserError
from monitor.core.types import Frame
from monitor.io.paths import opencv_path, parse_spec

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Source:
    """An opened capture and what is known about it."""

    spec: str
    kind: str  # "camera", "file" or "stream"
    capture: cv2.VideoCapture
    fps: float
    frame_count: int  # 0 when unknown (cameras, streams)

    @property
    def is_live(self) -> bool:
        return self.kind != "file"

    def release(self) -> None:
        self.capture.release()


STREAM_TIMEOUT_S = 5.0  # opening a stream, and waiting for its next frame, give up after this long


def capture_params(kind: str) -> list[int]:
    """OpenCV capture properties: a stream that is silent for STREAM_TIMEOUT_S fails instead of hanging."""
    if kind != "stream":
        return []
    ms = int(STREAM_TIMEOUT_S * 1000)
    return [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]


def open_source(spec: str, say=lambda text: None) -> Source:
    """Open a camera index, video file or stream URL; UserError with a fix when it cannot be opened.

    `say` gets a line of feedback before a wait the user would otherwise not understand
    (connecting to a stream).
    """
    kind, target = parse_spec(spec)
    if kind == "file":
        path = Path(target)
        if not path.is_file():
            raise UserError(f"{path}: video file not found; check the path given to --source")
        if path.stat().st_size == 0:
            raise UserError(f"{path}: empty file; give a video file to --source")
    if kind == "stream":
        say(f"connecting to {spec} (up to {STREAM_TIMEOUT_S:.0f} s)...")
    with opencv_path(target) if kind == "file" else contextlib.nullcontext(target) as name:
        capture = cv2.VideoCapture(name, cv2.CAP_ANY, capture_params(kind))
        ok = capture.isOpened()
        first = capture.read()[0] if ok and kind == "file" else ok
        if not ok or not first:
            capture.release()
            hint = {
                "camera": "check that a camera is connected and not used by another program, or pass --source with another index or a video file",
                "file": "it is not a video OpenCV can decode, or it is truncated or damaged; convert it (e.g. to H.264 .mp4) or check the file",
                "stream": f"check the URL and that the stream is running (gave up after {STREAM_TIMEOUT_S:.0f} s)",
            }[kind]
            raise UserError(f"cannot open {kind} {spec!r}: {hint}")
        if kind == "file":  # rewind after the probe read
            capture.release()
            capture = cv2.VideoCapture(name)
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    if not (0 < fps < 1000):
        fps = 30.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "file" else 0
    return Source(spec, kind, capture, float(fps), max(count, 0))


class StreamClock:
    """A file's frame times from the container's timestamps (pts), counted from its first frame.

    Index / average rate is wrong for a variable-frame-rate video (a phone's 3.200 s frame
    logged at 2.795 s); the pts are right for both kinds. A frame without a usable timestamp
    (none, or not after the one before) falls back to index / average rate, and at least one
    average frame after the one before.
    """

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._first: float | None = None
        self._last = -math.inf

    def __call__(self, capture: cv2.VideoCapture, index: int) -> float:
        """The time of the frame `capture` has just read or grabbed (its `index`-th), in seconds."""
        ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        pts = ms / 1000 if isinstance(ms, float) and math.isfinite(ms) else math.nan
        if self._first is None:
            self._first = pts if math.isfinite(pts) else 0.0
        t = pts - self._first
        if not t > self._last:  # NaN or out of order
            t = max(index / self.fps, self._last + 1 / self.fps) if self._last > -math.inf else 0.0
        self._last = t
        return t


def frames(source: Source, stride: int = 1) -> Iterator[Frame]:
    """Every `stride`-th frame of a file, as fast as it decodes (batch mode), at its own time in the stream.

    Stops at the first frame that cannot be read; `truncated(source, last_index)` tells
    whether that was before the end the container announced.
    """
    index = 0
    clock = StreamClock(source.fps)
    while True:
        if index % stride == 0:
            ok, image = source.capture.read()
            if not ok:
                return
            yield Frame(image, index, clock(source.capture, index), time.time())
        elif not source.capture.grab():
            return
        index += 1


def truncated(source: Source, frames_reached: int, stride: int = 1) -> bool:
    """True when a file ended clearly before the frame count its header announced.

    Containers estimate that count (duration x rate), so a few frames short is normal.
    """
    if source.kind != "file" or source.frame_count <= 0:
        return False
    return frames_reached + stride < 0.97 * source.frame_count - 1


class LatestFrameReader:
    """Reads frames on a background thread and hands out only the newest one.

    For a file (`--realtime`) each frame is handed over at its own timestamp, so it behaves like a
    camera: when processing is slower than the source, old frames are dropped, never queued.
    A live source that stops delivering is retried for `stall_timeout_s`, then ends.
    """

    def __init__(self, source: Source, stall_timeout_s: float = STREAM_TIMEOUT_S) -> None:
        self.source = source
        self.stall_timeout_s = stall_timeout_s
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._done = False
        self.captured = 0
        self.dropped = 0
        self.stalled = False
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
        self._start = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        index, last_ok = 0, time.monotonic()
        pace = self.source.kind == "file"
        clock = StreamClock(self.source.fps)
        wall0 = time.time()
        try:
            while not self._done:
                ok, image, stream_t = self._paced(clock, index) if pace else (*self.source.capture.read(), 0.0)
                now = time.monotonic()
                if not ok:
                    if pace or now - last_ok > self.stall_timeout_s:
                        self.stalled = not pace
                        break
                    time.sleep(0.05)
                    continue
                last_ok = now
                stream_t = stream_t if pace else now - self._start
                frame = Frame(image, index, stream_t, wall0 + stream_t if pace else time.time())
                with self._cond:
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = frame
                    self.captured += 1
                    self._cond.notify()
                index += 1
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _paced(self, clock: StreamClock, index: int) -> tuple[bool, np.ndarray | None, float]:
        """A file's next frame, handed over at its own moment (its timestamp), as a camera would deliver it."""
        capture = self.source.capture
        if not capture.grab():
            return False, None, 0.0
        stream_t = clock(capture, index)
        delay = self._start + stream_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ok, image = capture.retrieve()
        return ok, image, stream_t

    def read(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet handed out (waits for one); None when the source has ended."""
        with self._cond:
            while self._latest is None and not self._done:
                if not self._cond.wait(timeout):
                    return None
            frame, self._latest = self._latest, None
            return frame

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def stop(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)
