"""Writing annotated frames to a video file (fragmented MP4 through PyAV, so a crash keeps what was recorded)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from monitor.core.errors import UserError

# container suffix -> (codec, muxer options); MP4-like containers are fragmented to survive crashes
FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


FORMATS = {
    ".mp4": ("libx264", FRAGMENTED),
    ".m4v": ("libx264", FRAGMENTED),
    ".mov": ("libx264", FRAGMENTED),
    ".mkv": ("libx264", {}),
    ".avi": ("mpeg4", {}),
}


SUFFIXES = tuple(FORMATS)


class VideoSink:
    """Writes annotated frames to a video file, opened on the first frame (its size is known then).

    Frames are placed at their capture times: when a live source dropped frames, the last
    annotated frame is repeated to fill the gap, so the video lasts as long as the session.
    A keyframe starts every second of video, which is also how often a fragment reaches the disk.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps if fps and fps > 0 else 30.0
        self._container = self._stream = self._file = None
        self._t0: float | None = None
        self.written = 0

    def _open(self, width: int, height: int) -> None:
        import av

        codec, options = FORMATS.get(self.path.suffix.lower(), FORMATS[".mp4"])
        try:
            self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115 (lives as long as the sink; unbuffered: FFmpeg's bytes reach the OS)
            self._container = av.open(self._file, "w", format=_muxer(self.path), options=options)
        except (OSError, av.FFmpegError) as err:
            self.close()
            raise UserError(f"{self.path}: cannot write a video there ({err}); use a {', '.join(SUFFIXES)} path in a writable folder") from None
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = self._container.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = max(1, round(self.fps))  # a keyframe, hence a fragment, every second
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "tune": "zerolatency", "crf": "23"}  # no look-ahead: frames leave at once
        self._stream = stream

    def write(self, image: np.ndarray, stream_time_s: float | None = None) -> None:
        import av

        h, w = image.shape[:2]
        image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if (h % 2 or w % 2) else image  # 4:2:0 needs even sides
        if self._stream is None:
            self._open(image.shape[1], image.shape[0])
            if h % 2 or w % 2:
                import sys

                print(
                    f"note: {self.path}: frames of {w}x{h} are written as {image.shape[1]}x{image.shape[0]} "
                    "(the video codec needs even sides; the last row or column is repeated)",
                    file=sys.stderr,
                )
        copies = 1
        if stream_time_s is not None:
            self._t0 = stream_time_s if self._t0 is None else self._t0
            copies = max(1, int(round((stream_time_s - self._t0) * self.fps)) + 1 - self.written)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        for _ in range(copies):
            frame.pts = self.written
            try:
                self._container.mux(self._stream.encode(frame))
            except OSError as err:
                raise UserError(f"{self.path}: cannot write the video ({err.strerror or err}); free some space or choose another --output") from None
            self.written += 1

    def close(self) -> None:
        try:
            if self._stream is not None:
                self._container.mux(self._stream.encode(None))  # what the encoder still holds
            if self._container is not None:
                self._container.close()
        finally:
            if self._file is not None:
                self._file.close()
            self._container = self._stream = self._file = None


def _muxer(path: Path) -> str:
    return {".m4v": "mp4", ".mkv": "matroska"}.get(path.suffix.lower(), path.suffix.lower().lstrip(".") or "mp4")
