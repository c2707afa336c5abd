"""Where annotated frames go: a video file whose length is the session's, whatever name it has."""

from __future__ import annotations

import contextlib
from pathlib import Path

import cv2
import numpy as np

from monitor.errors import UserError

WRITERS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "XVID", ".mkv": "XVID"}


class VideoSink:
    """Writes annotated frames to a video file, opened on the first frame (its size is known then).

    Frames are placed at their capture times: when a live source dropped frames, the last
    annotated frame is repeated to fill the gap, so the video lasts as long as the session.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps, self._writer = path, fps, None
        self._names = contextlib.ExitStack()
        self._t0: float | None = None
        self.written = 0

    def write(self, image: np.ndarray, stream_time_s: float | None = None) -> None:
        if self._writer is None:
            from monitor.paths import opencv_path

            name = self._names.enter_context(opencv_path(self.path))
            fourcc = cv2.VideoWriter_fourcc(*WRITERS.get(self.path.suffix.lower(), "mp4v"))
            self._writer = cv2.VideoWriter(name, fourcc, self.fps, (image.shape[1], image.shape[0]))
            if not self._writer.isOpened():
                raise UserError(f"{self.path}: cannot write a video there; use an .mp4 or .avi path in a writable folder")
        copies = 1
        if stream_time_s is not None:
            self._t0 = stream_time_s if self._t0 is None else self._t0
            copies = max(1, int(round((stream_time_s - self._t0) * self.fps)) + 1 - self.written)
        for _ in range(copies):
            self._writer.write(image)
        self.written += copies

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
        self._names.close()
