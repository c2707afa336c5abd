"""Command line: `python -m monitor` (camera, video file or stream), `report`, `bench`.

Wiring only: every step lives in its own module (sources, faces, classifier, tracking,
pipeline, overlay, moodlog).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import __version__, program, quiet
from monitor.errors import UserError, run_cli

if TYPE_CHECKING:  # OpenCV and numpy load with the live loop; `report` starts without them
    import numpy as np

EPILOG = """\
other commands:
  python -m monitor report LOG.csv [...]   summarise and plot mood logs (see its --help)
  python -m monitor evaluate [...]         accuracy on real videos labelled by eye and on photos, fer beside it
  python -m monitor bench [--source VIDEO] speed of the pipeline against a naive loop (see its --help)

examples:
  python -m monitor                                   # webcam 0, window, log in logs/
  python -m monitor --source clip.mp4 --output out.mp4 # batch: every frame, as fast as possible
  python -m monitor --source clip.mp4 --realtime      # play a file as if it were a camera
  python -m monitor --source photo.jpg --output labelled.jpg
  python -m monitor --source photos/ --recursive --output labelled/
"""


def parser() -> argparse.ArgumentParser:
    from monitor.classifier import DEFAULT_MODEL, parse_classes, shipped_models

    p = argparse.ArgumentParser(
        prog=program("monitor"),
        description="Box and label every face's emotion live, and log each result with a timestamp to a CSV mood log.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--source",
        default="0",
        help="camera index (default 0), video file, stream URL (rtsp://, http://), picture, folder of pictures, or folder/glob of videos",
    )
    p.add_argument(
        "--model",
        type=Path,
        help=f"a shipped model by name ({', '.join(shipped_models())}; default {DEFAULT_MODEL}), or a model file or folder from `python -m train`",
    )
    p.add_argument(
        "--classes",
        type=parse_classes,
        metavar="NAME,NAME,...",
        help="let the model choose only among these of its classes, e.g. --model emotions --classes happy,neutral,sad",
    )
    p.add_argument("--log", type=Path, help="mood log CSV to create or append to (default: logs/mood-<start time>.csv)")
    p.add_argument(
        "--output",
        type=Path,
        help="also write the annotated frames to this video file (.mp4, .m4v, .mov, .mkv or .avi); for a picture an image file, "
        "for a folder a folder",
    )
    p.add_argument("--recursive", action="store_true", help="with a folder --source: include its subfolders")
    p.add_argument("--no-display", action="store_true", help="no window (automatic when there is no display)")
    p.add_argument("--realtime", action="store_true", help="play a video file at its own frame rate, dropping frames like a camera")
    p.add_argument("--stride", type=int, default=1, help="batch mode: process every Nth frame (default 1)")
    p.add_argument(
        "--smooth", type=int, default=5, help="frames over which each face's label is averaged; 1 turns smoothing off (default 5)"
    )
    p.add_argument(
        "--detect-every",
        type=int,
        default=4,
        help="scan the whole frame for faces every Nth frame; in between, known faces are re-found near their last box (default 4; 1 = full scan always)",
    )
    p.add_argument(
        "--min-face",
        type=int,
        help="smallest face to find, in pixels of the frame (default 48; smaller finds faces farther away but scans slower)",
    )
    p.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    p.add_argument("--jobs", type=int, help="folder of videos: videos processed in parallel (default: one per CPU core)")
    p.add_argument("--cluster", metavar="ADDRESS", help="folder of videos: run them on this Dask scheduler (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--redo", action="store_true", help="folder of videos: process videos again even when their log is complete")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--verbose", action="store_true", help="also show the libraries' own messages (OpenCV, FFmpeg, LiteRT)")
    p.add_argument("--version", action="version", version=f"emotion-monitor {__version__}")
    return p


class Stop(BaseException):
    """Raised by the SIGTERM handler, so termination takes the same clean path as Ctrl-C.

    A BaseException, as KeyboardInterrupt is: a signal can land inside library code (pandas
    writing the log, a worker's wait) whose `except Exception` would otherwise swallow it.
    """


def display_available() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def check_options(args) -> None:
    """Each bad option value named in one line, before anything is opened or created."""
    for name in ("stride", "smooth", "detect_every", "max_frames"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if args.min_face is not None and args.min_face < 24:
        raise UserError(f"--min-face {args.min_face}: must be at least 24 (the Haar cascade's window)")
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: must be at least 1")


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from monitor.batch import expand, sort_files
    from monitor.moodlog import MoodLog, rows_for
    from monitor.overlay import draw
    from monitor.paths import check_output_file
    from monitor.photos import is_picture_file, plan_output
    from monitor.sinks import SUFFIXES, VideoSink
    from monitor.sources import LatestFrameReader, frames, open_source, parse_spec, truncated

    check_options(args)
    started = time.time()
    source_path = Path(args.source)
    files = expand(args.source, args.recursive)
    if files is not None:  # a folder or a glob: pictures, or videos in batch
        pictures, videos, others = sort_files(files)
        if pictures and videos:
            raise UserError(
                f"{args.source}: holds {len(pictures)} pictures and {len(videos)} videos; put them in separate folders (or use a glob such as '{source_path / '*.mp4'}')"
            )
        if videos:
            return run_videos_cli(args, videos, others, source_path if source_path.is_dir() else None)
        if not source_path.is_dir():
            raise UserError(f"{args.source}: no video matches this pattern; for pictures pass their folder as --source")
    if source_path.is_dir() or (parse_spec(args.source)[0] == "file" and is_picture_file(source_path)):
        output = plan_output(source_path, args.output)
        if files == []:  # nothing at all to read: an input error, before any log is made
            from monitor.photos import nothing_found

            raise UserError(f"{nothing_found(source_path, args.recursive)}; pass a folder of pictures or videos as --source")
        return run_photos_cli(args, source_path, monitor_for(args), output)
    if args.output:
        if args.output.suffix.lower() not in SUFFIXES:
            raise UserError(f"{args.output}: not a video file name; use {', '.join(SUFFIXES)} for --output")
        check_output_file(args.output, [source_path] if parse_spec(args.source)[0] == "file" else [])
    monitor = monitor_for(args)
    classifier = monitor.classifier
    say = (lambda text: print(text, file=sys.stderr)) if not args.quiet else (lambda text: None)
    source = open_source(args.source, say)
    live = source.is_live or args.realtime
    show = not args.no_display and display_available()
    log_path = args.log or Path("logs") / f"mood-{datetime.now():%Y%m%d-%H%M%S}.csv"
    pipeline = monitor.video_pipeline()
    signal.signal(signal.SIGTERM, _raise_stop)
    stats = RunStats()
    message, code = None, 0
    window = Window() if show else None
    with MoodLog(log_path, classifier.classes) as log:  # opened first: a bad --log fails before any work
        sink = VideoSink(args.output, source.fps) if args.output else None
        reader = LatestFrameReader(source) if live else None
        bar = progress_bar(source, args) if not live and not args.quiet else None
        try:
            for frame in iter(reader) if reader else frames(source, args.stride):
                if stats.frames == 0:
                    warn_min_face(args.min_face, frame.image.shape, bar)
                result = pipeline.analyze(frame)
                log.add(rows_for(result, args.source, len(classifier.classes)))
                stats.add(result, started)
                if window or sink:
                    draw(frame.image, result, stats.fps if live else None)  # a recording shows no processing rate
                    if sink:
                        sink.write(frame.image, frame.stream_time_s if live else None)
                    if window and not window.show(frame.image):
                        break
                if live:
                    stats.latencies.append(time.time() - frame.wall_time)
                if bar:
                    bar.update(1)
                if args.max_frames and stats.frames >= args.max_frames:
                    break
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
        print(f"log: {log_path}" + (f"   video: {args.output}" if args.output else ""), file=sys.stderr)
    if message:
        print(("error: " if code == 1 else "") + message, file=sys.stderr)
    return code


def warn_min_face(min_face: int | None, shape: tuple[int, ...], bar) -> None:
    """A --min-face larger than the frame finds nothing: say so once, at the first frame."""
    if min_face and min_face > min(shape[:2]):
        text = f"warning: --min-face {min_face} is larger than the frame ({shape[1]}x{shape[0]}): no face can be found"
        (bar.write if bar else print)(text, file=sys.stderr)


def run_videos_cli(args, videos: list[tuple[Path, int, int]], others: list[Path], root: Path | None) -> int:
    """--source is a folder or glob of videos: each in batch mode, its own log, in parallel processes or on a Dask cluster."""
    from monitor.batch import Settings, classifier_for, connect, run_lock
    from monitor.paths import check_writable_folder, ensure_folder, same_file

    log_dir = args.log or Path("logs")
    if log_dir.suffix.lower() == ".csv":
        raise UserError(f"--log {log_dir}: with many videos --log names a folder (one mood log per video is written there)")
    if args.output:
        if root and same_file(args.output, root):
            raise UserError(f"{args.output}: is the video folder itself; pass another --output folder")
        if args.output.suffix:
            raise UserError(f"--output {args.output}: with many videos --output names a folder (one annotated video each)")
    settings = Settings(
        str(args.model) if args.model else None, args.smooth, args.detect_every, args.min_face, args.stride, classes=tuple(args.classes or ())
    )
    classifier_for(settings)  # a bad --model is one error here, not one per video; jobs run in this process reuse it
    client = connect(args.cluster) if args.cluster else None  # Dask and the scheduler checked before any folder is made
    ensure_folder(log_dir, "--log")
    if args.output:
        ensure_folder(args.output, "--output")
        check_writable_folder(args.output, "--output")  # before any video starts, not one failure per video
    with run_lock(log_dir):  # also checks up front that the folder can be written
        return run_videos(args, videos, others, root, log_dir, settings, client)


def run_videos(args, videos, others, root, log_dir: Path, settings, client) -> int:
    """The folder-of-videos run proper, holding its log folder."""
    from tqdm import tqdm

    from monitor.batch import plan, run_dask, run_local, table
    from monitor.words import plural

    jobs, done = plan(videos, root, log_dir, args.output, settings, args.redo)
    workers = args.jobs or os.cpu_count() or 1
    say = (lambda text: print(text, file=sys.stderr)) if not args.quiet else (lambda text: None)
    where = f"Dask cluster {args.cluster}" if args.cluster else plural(min(workers, max(len(jobs), 1)), "process", "processes")
    say(f"{plural(len(videos), 'video')} ({len(done)} already done, {len(jobs)} to do) on {where}; logs in {log_dir}/")
    for other in others:
        say(f"  not a video or picture, left out: {other}")
    total = sum(j.frames for j in jobs) or None
    bar = tqdm(total=total, unit="frame", desc="videos", file=sys.stderr, mininterval=0.5, disable=args.quiet)

    def finished(o) -> None:
        if not args.quiet:
            bar.write(
                f"{Path(o.video).name}: {'FAILED: ' + o.error if o.error else f'{o.frames} frames, {o.faces} face-frames'}", file=sys.stderr
            )

    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        runner = (lambda *a: run_dask(jobs, client, *a)) if client else (lambda *a: run_local(jobs, workers, *a))
        outcomes = runner(bar.update, finished)
    except (KeyboardInterrupt, Stop) as stop:
        bar.close()
        print("stopped; finished videos keep their logs, unfinished ones start over on the next run", file=sys.stderr)
        return 130 if isinstance(stop, KeyboardInterrupt) else 143
    bar.close()
    outcomes += done
    if not args.quiet:
        print(table(outcomes), file=sys.stderr)
    failed = [o for o in outcomes if o.error]
    if failed:
        kept = [Path(o.log).name for o in failed if Path(o.log).is_file()]
        rows = f"rows read so far are in {', '.join(kept[:3])}{' ...' if len(kept) > 3 else ''}" if kept else "no rows were written"
        others = len(outcomes) - len(failed)
        print(
            f"error: {len(failed)} of {plural(len(outcomes), 'video')} failed ({rows}); "
            + (f"the other {plural(others, 'video')} {'is' if others == 1 else 'are'} done" if others else "none is done"),
            file=sys.stderr,
        )
        return 1
    return 0


def monitor_for(args):
    """The Python API's EmotionMonitor for these options: the command line runs the same model, pipelines and rules as scripts."""
    from monitor.api import EmotionMonitor

    return EmotionMonitor(args.model, args.classes, args.min_face, args.smooth, args.detect_every)


def run_photos_cli(args, source: Path, monitor, output: Path | None) -> int:
    """--source is a picture or a folder of pictures (--output already checked by `plan_output`)."""
    from monitor.moodlog import MoodLog
    from monitor.photos import nothing_found, run_photos, summary

    log_path = args.log or Path("logs") / f"mood-{datetime.now():%Y%m%d-%H%M%S}.csv"
    show = source.is_file() and not args.no_display and display_available()
    pipeline = monitor.picture_pipeline()  # pictures: the thorough search, speed matters less
    with MoodLog(log_path, monitor.classes) as log:
        stats = run_photos(source, pipeline, log, output, show, args.recursive, args.quiet)
    if not args.quiet:
        print(summary(stats) + f"\nlog: {log_path}" + (f"   annotated: {output}" if output else ""), file=sys.stderr)
    if stats.pictures == 0:
        print(f"error: {nothing_found(source, args.recursive)}; pass a folder of pictures or videos as --source", file=sys.stderr)
        return 2  # an input error, like the others
    return 0


def _raise_stop(signum, frame) -> None:
    raise Stop()


class Window:
    """The live window; q, Esc and its close button all quit the same way."""

    TITLE = "emotion monitor (q to quit)"

    def __init__(self) -> None:
        import cv2  # loaded once, with the live loop: `report` starts without OpenCV

        self.cv2 = cv2
        self.opened = False

    def show(self, image: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q or Esc or closed the window."""
        cv2 = self.cv2
        try:
            if self.opened and cv2.getWindowProperty(self.TITLE, cv2.WND_PROP_VISIBLE) < 1:
                return False  # closed with its button since the last frame
            cv2.imshow(self.TITLE, image)
            self.opened = True
            key = cv2.waitKey(1) & 0xFF
            return key not in (ord("q"), 27) and cv2.getWindowProperty(self.TITLE, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            if self.opened:  # the window existed and is gone: the user closed it
                return False
            raise UserError("cannot open a window here (headless OpenCV?); run with --no-display") from None

    def close(self) -> None:
        with contextlib.suppress(self.cv2.error):
            self.cv2.destroyAllWindows()


class RunStats:
    """Counts for the end-of-run summary: frames, faces, labels, speed, live latency."""

    def __init__(self) -> None:
        self.frames = self.faces = 0
        self.face_ids: set[int] = set()
        self.last_index = -1
        self.labels: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.first_frame_s: float | None = None
        self.fps = 0.0
        self._dt = 0.0
        self._t = time.perf_counter()

    def add(self, result, started: float) -> None:
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
            self.first_frame_s = time.time() - started

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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet.setup(verbose="--verbose" in argv)

    def dispatch() -> int:
        if argv and argv[0] == "report":
            from monitor.report import main as report_main

            return report_main(argv[1:])
        if argv and argv[0] == "evaluate":
            from monitor.scoring import main as evaluate_main

            return evaluate_main(argv[1:])
        if argv and argv[0] == "bench":
            from monitor.bench import main as bench_main

            return bench_main(argv[1:])
        return run(argv)

    return run_cli(dispatch)


if __name__ == "__main__":
    sys.exit(main())
