"""Live mode: a camera, a stream or one video file, with a window, a recording and the mood log.

Batch (a file, every frame as fast as it decodes, with a progress bar) and live (a camera, a
stream, or `--realtime`: a reader thread that keeps only the newest frame) differ only in their
frames and pace; both run the one frame loop with the same steps.
"""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.apps.options import display_available, record_run
from monitor.apps.signals import Stop, raise_stop
from monitor.core.errors import UserError

if TYPE_CHECKING:  # OpenCV and numpy load with the live loop; `report` starts without them
    pass


def default_log_path() -> Path:
    """logs/mood-<start time>.csv: one log per run unless --log names one."""
    return Path("logs") / f"mood-{datetime.now():%Y%m%d-%H%M%S}.csv"


def check_video_output(args) -> None:
    """--output for a camera, stream or video file: a video name, never the input itself."""
    from monitor.io.paths import check_output_file, parse_spec
    from monitor.io.video_sink import SUFFIXES

    if args.output.suffix.lower() not in SUFFIXES:
        raise UserError(f"{args.output}: not a video file name; use {', '.join(SUFFIXES)} for --output")
    check_output_file(args.output, [Path(args.source)] if parse_spec(args.source)[0] == "file" else [])


def run(args, monitor) -> int:
    """One camera, stream or video file through the frame loop: log, draw, record, show; a summary at the end."""
    from monitor.apps.live_view import FaceTally, LiveView, MoodStrip, ViewState, Window
    from monitor.apps.loop import Annotate, Blur, FrameLoop, JsonLines, LogRows, Record
    from monitor.io.sources import LatestFrameReader, frames, open_source, truncated
    from monitor.io.video_sink import VideoSink
    from monitor.moodlog.writer import MoodLog

    started = time.time()
    say = (lambda text: print(text, file=sys.stderr)) if not args.quiet else (lambda text: None)
    source = open_source(args.source, say)
    live = source.is_live or args.realtime
    show = not args.no_display and display_available()
    log_path = args.log or default_log_path()
    signal.signal(signal.SIGTERM, raise_stop)
    stats = RunStats(started, args.min_face)
    message, code = None, 0
    view = ViewState(bars=not args.no_bars, strip=not args.no_strip)
    window = Window(view) if show else None
    tally = FaceTally()
    with MoodLog(log_path, monitor.classes) as log:  # opened first: a bad --log fails before any work
        record_run(log_path, monitor, args.source, args, "live" if live else "batch")
        sink = (
            VideoSink(args.output, source.fps if live else source.fps / args.stride, Path(args.source) if source.kind == "file" else None)
            if args.output
            else None
        )  # frames' rate
        reader = LatestFrameReader(source) if live else None
        bar = progress_bar(source, args) if not live and not args.quiet else None
        stats.bar = bar

        def after(result) -> bool:
            if live:
                stats.latencies.append(time.time() - result.frame.wall_time)
            if bar:
                bar.update(1)
            return not (args.max_frames and stats.frames >= args.max_frames)

        steps = [unless_paused(LogRows(log, args.source), view), stats, unless_paused(tally, view)]
        if args.jsonl:
            steps.append(unless_paused(JsonLines(args.source), view))
        if args.blur and (window or sink):
            steps.append(Blur())  # before anything is drawn or written
        if window or sink:
            steps.append(Annotate(lambda: stats.fps if live else None, bars=lambda: view.bars))  # a recording shows no processing rate
        if sink:
            steps.append(Record(sink))
        if window:
            steps += [LiveView(view, MoodStrip(monitor.classes)), window]  # the strip and key hint: the window's, not the recording's
        steps.append(after)
        try:
            FrameLoop(monitor.video_pipeline(), steps).run_all(iter(reader) if reader else frames(source, args.stride))
        except KeyboardInterrupt:
            message, code = "stopped (Ctrl-C); every row so far is in the log", 130
        except Stop:
            message, code = "stopped (SIGTERM); every row so far is in the log", 143
        finally:
            if reader:
                reader.stop()
            if bar:
                bar.close()
            if sink:
                sink.close()
            source.release()
            if window:
                window.close()
    if message is None and not live and not args.max_frames and truncated(source, stats.last_index + 1, args.stride):
        message = f"{args.source}: video ended early at frame {stats.last_index + 1} of {source.frame_count} (truncated or damaged); the log keeps every frame read"
        code = 1
    if reader and reader.stalled:
        message, code = (
            f"{args.source}: the stream stopped delivering frames for {reader.stall_timeout_s:.0f} s; the log keeps every frame read",
            1,
        )
    if message is None and stats.frames == 0:
        message, code = f"{args.source}: no frame could be read; check the source", 1
    if not args.quiet:
        print(stats.summary(time.time() - started, reader), file=sys.stderr)
        if tally.faces:
            print("per face (logged frames):\n" + "\n".join(f"  {line}" for line in tally.lines()), file=sys.stderr)
        print(f"log: {log_path}" + (f"   video: {args.output}" if args.output else ""), file=sys.stderr)
    if message:
        print(("error: " if code == 1 else "") + message, file=sys.stderr)
    return code


def unless_paused(step, view):
    """The step, skipped while the viewer has paused logging (the space key): no rows, no JSON lines, not in the summary."""

    def gated(result) -> None:
        if not view.paused:
            step(result)

    gated.name = getattr(step, "name", getattr(step, "__name__", "step"))
    return gated


def warn_min_face(min_face: int | None, shape: tuple[int, ...], bar) -> None:
    """A --min-face larger than the frame finds nothing: say so once, at the first frame."""
    if min_face and min_face > min(shape[:2]):
        text = f"warning: --min-face {min_face} is larger than the frame ({shape[1]}x{shape[0]}): no face can be found"
        (bar.write if bar else print)(text, file=sys.stderr)


class RunStats:
    """Counts for the end-of-run summary: frames, faces, labels, speed, live latency (a step of the frame loop)."""

    name = "stats"

    def __init__(self, started: float, min_face: int | None = None) -> None:
        self.started = started
        self.min_face = min_face
        self.bar = None
        self.frames = self.faces = 0
        self.face_ids: set[int] = set()
        self.last_index = -1
        self.labels: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.first_frame_s: float | None = None
        self.fps = 0.0
        self._dt = 0.0
        self._t = time.perf_counter()

    def __call__(self, result) -> None:
        if self.frames == 0:
            warn_min_face(self.min_face, result.frame.image.shape, self.bar)
        self.frames += 1
        self.last_index = result.frame.index
        self.faces += len(result.faces)
        self.face_ids.update(f.face_id for f in result.faces)
        self.labels.update(f.smoothed.label for f in result.faces)
        now = time.perf_counter()
        dt = max(now - self._t, 1e-6)
        self._dt = 0.9 * self._dt + 0.1 * dt if self._dt else dt  # average the interval, not the rate
        self.fps = 1.0 / self._dt
        self._t = now
        if self.first_frame_s is None:
            self.first_frame_s = time.time() - self.started

    def summary(self, elapsed: float, reader) -> str:
        lines = [
            f"{self.frames} frames in {elapsed:.1f} s ({self.frames / max(elapsed, 1e-9):.1f} fps), "
            f"{self.faces} face-frames of {len(self.face_ids)} face{'s' if len(self.face_ids) != 1 else ''} (tracked ids)"
        ]
        total = sum(self.labels.values())
        if total:
            lines.append("labels: " + ", ".join(f"{k} {v / total:.0%}" for k, v in self.labels.most_common()))
        if self.latencies:
            import numpy as np

            lat = np.array(self.latencies) * 1000
            lines.append(
                f"latency capture->shown: median {np.median(lat):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms; "
                f"dropped {reader.dropped} of {reader.captured} frames"
            )
        if self.first_frame_s is not None:
            lines.append(f"first frame after {self.first_frame_s:.2f} s")
        return "\n".join(lines)


def progress_bar(source, args):
    from tqdm import tqdm

    total = -(-source.frame_count // args.stride) if source.frame_count else None
    return tqdm(total=total, unit="frame", desc=Path(args.source).name, file=sys.stderr, mininterval=0.5)
