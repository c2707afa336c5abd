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


# Frame times are kept at 1/90000 s (MPEG's clock: 24, 25, 30 and 30000/1001 fps all fall on it exactly).
# AVI has no timestamps, only a constant rate: there a frame goes to the nearest slot of `fps`.
TIME_BASE = Fraction(1, 90000)
CONSTANT_RATE = {".avi"}


SUFFIXES = tuple(FORMATS)


class VideoSink:
    """Writes annotated frames to a video file, opened on the first frame (its size is known then).

    Each frame is placed at its own time in the stream (`write(image, stream_time_s)`) and shown
    until the next one: a variable-frame-rate video keeps its timing, frames skipped by
    `--stride` or dropped by a live source are covered by the frame before, and the video lasts
    as long as its source. `fps` is the rate frames are expected at: how long the last frame
    lasts, and the spacing of frames written without a time.
    A keyframe starts every second of video, which is also how often a fragment reaches the disk.
    `audio_from`: a video file whose audio track is copied alongside (not re-encoded), interleaved
    as the frames are written and cut where the video ends; where the container cannot take that
    codec, the recording is written without sound and a note says so.
    """

    def __init__(self, path: Path, fps: float, audio_from: Path | None = None) -> None:
        self.path, self.fps = path, fps if fps and fps > 0 else 30.0
        self._audio_from, self._audio = audio_from, None
        self._container = self._stream = self._file = None
        self._time_base = Fraction(1) / Fraction(self.fps).limit_denominator(1001) if path.suffix.lower() in CONSTANT_RATE else TIME_BASE
        self._t0: float | None = None
        self._pts = self._key_pts = None
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
        stream.codec_context.time_base = self._time_base
        stream.codec_context.gop_size = max(1, round(self.fps))  # a keyframe, hence a fragment, every second (and see write)
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "tune": "zerolatency", "crf": "23"}  # no look-ahead: frames leave at once
        self._stream = stream
        if self._audio_from is not None:
            self._audio = AudioCopy.open(self._audio_from, self._container, self.path)

    def write(self, image: np.ndarray, stream_time_s: float | None = None) -> None:
        """Add a frame at `stream_time_s` (seconds in the source), or one `1/fps` after the previous frame."""
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
        step = self._ticks(1 / self.fps)
        if self._pts is None:  # the first frame starts the video
            self._t0, pts = stream_time_s or 0.0, 0
        elif stream_time_s is None:
            pts = self._pts + step
        else:
            pts = max(self._ticks(stream_time_s - self._t0), self._pts + 1)  # strictly later than the frame before
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts, frame.time_base = pts, self._time_base
        # a keyframe each second of video, also when frames are far apart (a slow live source)
        if self._key_pts is None or (pts - self._key_pts) * self._time_base >= 1:
            frame.pict_type = av.video.frame.PictureType.I
            self._key_pts = pts
        try:
            self._mux(self._stream.encode(frame))
            if self._audio:
                self._audio.copy_until(self._t0 + float(pts * self._time_base))
        except OSError as err:
            raise UserError(f"{self.path}: cannot write the video ({err.strerror or err}); free some space or choose another --output") from None
        self._pts = pts
        self.written += 1

    def _ticks(self, seconds: float) -> int:
        return round(seconds / self._time_base)

    def _mux(self, packets) -> None:
        for packet in packets:
            packet.duration = self._ticks(1 / self.fps)  # counts for the last frame only: the others last until the next one
            self._container.mux(packet)

    def close(self) -> None:
        try:
            if self._stream is not None:
                self._mux(self._stream.encode(None))  # what the encoder still holds
            if self._audio:
                self._audio.copy_until(self._t0 + float(self._pts * self._time_base) + 1 / self.fps)  # as long as the video
                self._audio.close()
                self._audio = None
            if self._container is not None:
                self._container.close()
        finally:
            if self._file is not None:
                self._file.close()
            self._container = self._stream = self._file = None


def _muxer(path: Path) -> str:
    return {".m4v": "mp4", ".mkv": "matroska"}.get(path.suffix.lower(), path.suffix.lower().lstrip(".") or "mp4")


class AudioCopy:
    """The audio track of a source file, copied packet by packet into a recording, as far as the video has got.

    Times are the source's, measured as the frames are, from the source's first video frame: a
    track that starts 2.4 s into the video starts 2.4 s into the recording.
    """

    def __init__(self, source, in_stream, out_stream, container) -> None:
        self._source, self._in, self._out, self._container = source, in_stream, out_stream, container
        self._packets = source.demux(in_stream)
        self._pending = None
        video = next(iter(source.streams.video), None)
        origin = float(video.start_time * video.time_base) if video is not None and video.start_time is not None else 0.0
        self._offset = round(origin / in_stream.time_base)  # the first video frame's moment in the track's ticks: the recording's 0

    @classmethod
    def open(cls, source_path: Path, container, target: Path) -> AudioCopy | None:
        """The copier for the source's first audio track; None when it has none (or the container cannot hold it: noted)."""
        import av

        try:
            source = av.open(str(source_path))
        except (OSError, av.FFmpegError):
            return None
        audio = next(iter(source.streams.audio), None)
        if audio is None:
            source.close()
            return None
        try:
            out = container.add_stream_from_template(audio)
        except (ValueError, av.FFmpegError) as err:
            import sys

            print(f"note: {target}: written without the source's sound ({audio.codec_context.name} cannot go into this file: {err})", file=sys.stderr)
            source.close()
            return None
        return cls(source, audio, out, container)

    def copy_until(self, t: float) -> None:
        """Mux the source's audio packets that start before `t` (seconds of the source)."""
        import av

        while True:
            if self._pending is None:
                try:
                    self._pending = next(self._packets)
                except (StopIteration, av.FFmpegError):
                    self._packets = iter(())
                    return
                if self._pending.pts is None:  # a flush packet: nothing to copy
                    self._pending = None
                    continue
            packet = self._pending
            if float((packet.pts - self._offset) * packet.time_base) >= t:
                return
            self._pending = None
            if packet.pts < self._offset:
                continue
            packet.pts -= self._offset
            if packet.dts is not None:
                packet.dts -= self._offset
            packet.stream = self._out
            self._container.mux(packet)

    def close(self) -> None:
        self._source.close()
