"""A folder of videos: finding them, planning one job per video, and running one job."""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.apps.signals import Stop, raise_stop
from monitor.core.errors import UserError

if TYPE_CHECKING:  # OpenCV and numpy load with the live loop; `report` starts without them
    pass


VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}


PARTIAL, FAILED = ".partial", ".failed"


@dataclass(frozen=True)
class Settings:
    """How each video is analysed: the monitor's batch-mode options (the same for every job)."""

    model: str | None = None
    smooth: int = 5
    detect_every: int = 4
    min_face: int | None = None
    stride: int = 1
    threads: int | None = None  # per process: 1 when several processes share the cores
    classes: tuple[str, ...] = ()  # the model restricted to these of its classes (--classes); () = all
    class_bias: tuple[tuple[str, float], ...] = ()  # --class-bias as (class, bias) pairs; () = the model's own
    blur: bool = False  # --blur: faces pixelated in the annotated copies
    bars: bool = True  # probability bars in the annotated copies (--no-bars: off)

    def label_settings(self) -> dict:
        """What the log's sidecar records about how labels were made (moodlog.provenance)."""
        return {
            "mode": "batch",
            "classes": list(self.classes) or None,
            "class_bias": dict(self.class_bias) or None,
            "smooth": self.smooth,
            "detect_every": self.detect_every,
            "min_face": self.min_face,
            "stride": self.stride,
            "blur": self.blur,
        }


@dataclass(frozen=True)
class VideoJob:
    """One video to analyse, where its log (and annotated copy) go, and how much work it is."""

    video: str
    log: str
    output: str | None
    frames: int  # from the container's header; 0 when unknown
    settings: Settings


@dataclass
class VideoOutcome:
    """What became of one job."""

    video: str
    log: str
    frames: int = 0
    faces: int = 0
    labels: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    error: str | None = None
    skipped: bool = False  # its log was already complete


def is_video_file(path: Path) -> tuple[bool, int, int]:
    """(a video OpenCV can open and read a frame of, its announced frame count, pixels a frame), by content, not by name."""
    import cv2

    from monitor.io.paths import opencv_path

    with opencv_path(path) as name:
        cap = cv2.VideoCapture(name)
        try:
            ok, image = cap.read() if cap.isOpened() else (False, None)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if ok else 0
        finally:
            cap.release()
    return bool(ok), max(count, 0), image.shape[0] * image.shape[1] if ok else 0


def expand(source: str, recursive: bool) -> list[Path] | None:
    """The files a folder or glob pattern names (hidden files left out), or None when `source` is neither."""
    path = Path(source)
    if path.is_dir():
        found = path.rglob("*") if recursive else path.iterdir()
    elif any(c in source for c in "*?[") and not path.exists():
        found = (Path(p) for p in glob.glob(source, recursive=recursive))
    else:
        return None
    return sorted(p for p in found if p.is_file() and not p.name.startswith("."))


def sort_files(files: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, int, int]], list[Path]]:
    """(pictures, (video, frames, pixels a frame), others): what a folder holds, by decoding, not by extension.

    A file named like a video that cannot be read counts as a video (its job fails and is
    reported), so a damaged recording is never silently left out.
    """
    from monitor.io.pictures import is_picture_file

    pictures, videos, others = [], [], []
    for f in files:
        if f.suffix.lower() not in VIDEO_SUFFIXES and is_picture_file(f):
            pictures.append(f)
            continue
        ok, count, pixels = is_video_file(f)
        if ok or f.suffix.lower() in VIDEO_SUFFIXES:  # named like a video but unreadable: a video that fails, reported as such
            videos.append((f, count, pixels))
        else:
            others.append(f)
    return pictures, videos, others


def log_name(video: Path, root: Path | None) -> str:
    """`mood-<video name>.csv`, with its subfolders in the name when the folder is searched recursively."""
    rel = video.relative_to(root) if root and video.is_relative_to(root) else Path(video.name)
    stem = "_".join([*rel.parent.parts, rel.stem]) if rel.parent.parts else rel.stem
    return f"mood-{short_stem(stem)}.csv"


# A log's longest name is mood-<stem>.csv.partial: the stem leaves room for that within the file system's 255 bytes.
STEM_MAX = 255 - len("mood-.csv") - len(PARTIAL)


def short_stem(stem: str) -> str:
    """`stem` as it is, or cut to fit a file name with a hash of the whole, so two long names that share a start stay apart."""
    import hashlib
    import os

    raw = os.fsencode(stem)
    if len(raw) <= STEM_MAX:
        return stem
    digest = hashlib.sha1(raw).hexdigest()[:10]
    head = raw[: STEM_MAX - len(digest) - 1].decode("utf-8", "ignore")  # whole characters only
    return f"{os.fsdecode(os.fsencode(head))}-{digest}"


def plan(videos: list[tuple[Path, int, int]], root: Path | None, log_dir: Path, out_dir: Path | None, settings: Settings, redo: bool):
    """Jobs still to do, costliest first (so parallel workers finish together), and the videos already done (skipped unless `redo`)."""
    jobs, done = [], []
    for video, count, _pixels in sorted(videos, key=lambda v: -v[1] * v[2]):
        log = log_dir / log_name(video, root)
        output = str(out_dir / (Path(log.name[5:]).stem + ".mp4")) if out_dir else None
        if log.is_file() and not redo:
            for stale in (Path(str(log) + PARTIAL), Path(str(log) + FAILED)):  # from an interrupted --redo: the log is complete
                stale.unlink(missing_ok=True)
            done.append(VideoOutcome(str(video), str(log), skipped=True))
            continue
        jobs.append(VideoJob(str(video), str(log), output, count, settings))
    return jobs, done


_CLASSIFIERS: dict = {}  # one classifier per process and settings, loaded on first use


def cached_monitor(s: Settings):
    """This process's EmotionMonitor for `s` (the Python API), loaded once: by a worker's first job, or by the command's model check."""
    from monitor.api import EmotionMonitor

    key = (s.model, s.threads, s.classes, s.min_face, s.smooth, s.detect_every, s.class_bias)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = EmotionMonitor(
            s.model, list(s.classes) or None, s.min_face, s.smooth, s.detect_every, threads=s.threads, class_bias=dict(s.class_bias) or None
        )
    return _CLASSIFIERS[key]


def run_job(job: VideoJob, report: Callable[[str, int], None] | None = None) -> VideoOutcome:
    """Analyse one video in batch mode: every row in its own log, renamed to its final name when the video is done.

    Never raises for a bad video: the error is in the outcome and the other jobs go on.
    `report(video, frames)` is told of progress about twice a second.
    """
    from monitor.apps.loop import Annotate, Blur, FrameLoop, LogRows, Record
    from monitor.io.sources import frames, open_source, truncated
    from monitor.moodlog.provenance import append_run, run_record, sidecar_path
    from monitor.moodlog.writer import MoodLog

    s = job.settings
    outcome = VideoOutcome(job.video, job.log)
    final, partial, failed = Path(job.log), Path(job.log + PARTIAL), Path(job.log + FAILED)
    started = time.perf_counter()
    sink = source = record = None
    last, told, index = -1, time.monotonic(), -1

    def count(result) -> None:
        nonlocal last, told, index
        outcome.frames += 1
        outcome.faces += len(result.faces)
        outcome.labels.update(f.smoothed.label for f in result.faces)
        index = result.frame.index
        if report and time.monotonic() - told > 0.5:
            report(job.video, index - last)
            last, told = index, time.monotonic()

    try:
        if s.threads:
            import cv2

            cv2.setNumThreads(s.threads)
        monitor = cached_monitor(s)
        record = run_record(monitor.classifier, job.video, s.label_settings())
        for stale in (partial, failed):
            stale.unlink(missing_ok=True)  # an interrupted or failed earlier attempt starts over: no duplicate rows
        source = open_source(job.video)
        if job.output:
            from monitor.io.video_sink import VideoSink

            sink = VideoSink(Path(job.output), source.fps / s.stride, Path(job.video))  # the rate frames come at; each is written at its own time
        with MoodLog(partial, monitor.classes) as log:
            drawing = [*([Blur()] if s.blur else []), Annotate(bars=s.bars), Record(sink)] if sink else []
            steps = [LogRows(log, job.video), count, *drawing]
            FrameLoop(monitor.video_pipeline(), steps).run_all(frames(source, s.stride))
        if report:
            report(job.video, index - last)
        if outcome.frames == 0:
            outcome.error = "no frame could be read"
        elif truncated(source, index + 1, s.stride):
            outcome.error = f"ended early at frame {index + 1} of {source.frame_count} (truncated or damaged)"
    except UserError as err:
        outcome.error = str(err)
    except Exception as err:  # one broken video must not stop the others
        outcome.error = f"{type(err).__name__}: {err}"
    finally:
        if sink:
            sink.close()
        if source:
            source.release()
    if partial.exists():  # every row read is kept: under the final name when the video is done, else beside it
        os.replace(partial, failed if outcome.error else final)
        outcome.log = str(failed if outcome.error else final)
        if record:
            with contextlib.suppress(UserError, OSError):  # the log is what matters; a sidecar that cannot be written leaves it as it was
                sidecar_path(Path(outcome.log)).unlink(missing_ok=True)  # the log started over: so does its record of runs
                append_run(Path(outcome.log), record)
    outcome.seconds = time.perf_counter() - started
    return outcome


def run(args, videos: list[tuple[Path, int, int]], others: list[Path], root: Path | None) -> int:
    """--source is a folder or glob of videos: each in batch mode, its own log, in parallel processes or on a Dask cluster."""
    from monitor.apps.jobs import connect
    from monitor.apps.lock import run_lock
    from monitor.io.paths import check_writable_folder, ensure_folder, same_file

    log_dir = args.log or Path("logs")
    if log_dir.suffix.lower() == ".csv":
        raise UserError(f"--log {log_dir}: with many videos --log names a folder (one mood log per video is written there)")
    if args.output:
        if root and same_file(args.output, root):
            raise UserError(f"{args.output}: is the video folder itself; pass another --output folder")
        if args.output.suffix:
            raise UserError(f"--output {args.output}: with many videos --output names a folder (one annotated video each)")
    if args.jsonl:
        raise UserError("--jsonl: one source at a time (a camera, stream, video or pictures); a folder of videos writes one mood log per video")
    settings = Settings(
        str(args.model) if args.model else None,
        args.smooth,
        args.detect_every,
        args.min_face,
        args.stride,
        classes=tuple(args.classes or ()),
        class_bias=tuple((args.class_bias or {}).items()),
        blur=args.blur,
        bars=not args.no_bars,
    )
    from monitor.api import for_command_line
    from monitor.core.errors import BadInput

    try:
        cached_monitor(settings)  # a bad --model is one error here, not one per video; jobs run in this process reuse it
    except BadInput as err:
        raise for_command_line(err) from None
    client = connect(args.cluster) if args.cluster else None  # Dask and the scheduler checked before any folder is made
    ensure_folder(log_dir, "--log")
    if args.output:
        ensure_folder(args.output, "--output")
        check_writable_folder(args.output, "--output")  # before any video starts, not one failure per video
    with run_lock(log_dir):  # also checks up front that the folder can be written
        return run_folder(args, videos, others, root, log_dir, settings, client)


def run_folder(args, videos, others, root, log_dir: Path, settings, client) -> int:
    """The folder-of-videos run proper, holding its log folder."""
    from tqdm import tqdm

    from monitor.apps.jobs import run_dask, run_local, table
    from monitor.core.text import plural

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

    signal.signal(signal.SIGTERM, raise_stop)
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
