"""Many recordings at once: a folder (or glob) of videos, one mood log each, on local processes or a Dask cluster.

Each video is one job: open, detect -> classify -> track every frame, write its log (and
optionally its annotated video). Jobs share nothing, so they run in any order on any
worker and give the same rows as a run on one core. A log is written under a `.partial`
name and renamed when the video is done: a re-run skips finished videos and starts
unfinished ones over, so an interrupted run resumes without losing or duplicating rows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import UserError

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


# ---------------------------------------------------------------- finding the videos


def is_video_file(path: Path) -> tuple[bool, int, int]:
    """(a video OpenCV can open and read a frame of, its announced frame count, pixels a frame), by content, not by name."""
    import cv2

    from monitor.paths import opencv_path

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
    from monitor.photos import is_picture_file

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


# ---------------------------------------------------------------- one video


_CLASSIFIERS: dict = {}  # one classifier per process and settings, loaded on first use


def monitor_for(s: Settings):
    """This process's EmotionMonitor for `s` (the Python API), loaded once: by a worker's first job, or by the command's model check."""
    from monitor.api import EmotionMonitor

    key = (s.model, s.threads, s.classes, s.min_face, s.smooth, s.detect_every)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = EmotionMonitor(s.model, list(s.classes) or None, s.min_face, s.smooth, s.detect_every, threads=s.threads)
    return _CLASSIFIERS[key]


def classifier_for(s: Settings):
    """This process's classifier for `s` (see monitor_for)."""
    return monitor_for(s).classifier


def run_job(job: VideoJob, report: Callable[[str, int], None] | None = None) -> VideoOutcome:
    """Analyse one video in batch mode: every row in its own log, renamed to its final name when the video is done.

    Never raises for a bad video: the error is in the outcome and the other jobs go on.
    `report(video, frames)` is told of progress about twice a second.
    """
    from monitor.moodlog import MoodLog, rows_for
    from monitor.overlay import draw
    from monitor.sources import frames, open_source, truncated

    s = job.settings
    outcome = VideoOutcome(job.video, job.log)
    final, partial, failed = Path(job.log), Path(job.log + PARTIAL), Path(job.log + FAILED)
    started = time.perf_counter()
    sink = source = None
    try:
        if s.threads:
            import cv2

            cv2.setNumThreads(s.threads)
        monitor = monitor_for(s)
        classifier, pipeline = monitor.classifier, monitor.video_pipeline()
        for stale in (partial, failed):
            stale.unlink(missing_ok=True)  # an interrupted or failed earlier attempt starts over: no duplicate rows
        source = open_source(job.video)
        if job.output:
            from monitor.sinks import VideoSink

            sink = VideoSink(Path(job.output), source.fps / s.stride)
        last, told, index = -1, time.monotonic(), -1
        with MoodLog(partial, classifier.classes) as log:
            for frame in frames(source, s.stride):
                result = pipeline.analyze(frame)
                log.add(rows_for(result, job.video, len(classifier.classes)))
                outcome.frames += 1
                outcome.faces += len(result.faces)
                outcome.labels.update(f.smoothed.label for f in result.faces)
                index = frame.index
                if sink:
                    sink.write(draw(frame.image, result))
                if report and time.monotonic() - told > 0.5:
                    report(job.video, index - last)
                    last, told = index, time.monotonic()
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
    outcome.seconds = time.perf_counter() - started
    return outcome


# ---------------------------------------------------------------- many videos


def run_local(
    jobs: list[VideoJob], workers: int, on_frames: Callable[[int], None], on_done: Callable[[VideoOutcome], None]
) -> list[VideoOutcome]:
    """Run the jobs on `workers` processes of this machine (1: in this process)."""
    if workers <= 1 or len(jobs) <= 1:
        outcomes = []
        for job in jobs:
            outcomes.append(run_job(job, lambda _video, n: on_frames(n)))
            on_done(outcomes[-1])
        return outcomes
    import dataclasses
    import multiprocessing as mp
    import queue
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    jobs = [dataclasses.replace(j, settings=dataclasses.replace(j.settings, threads=1)) for j in jobs]  # one core each

    quiet_resource_tracker()
    context = mp.get_context("spawn")  # clean workers: no threads or native state inherited from this process
    progress = context.Queue()  # handed to each worker as it starts (no manager process that could outlive us)
    pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_worker_start, initargs=(os.getpid(), progress))
    try:
        pending = {pool.submit(_run_reporting, job): job for job in jobs}
        outcomes = []
        while pending:
            finished, _ = wait(pending, timeout=0.3, return_when=FIRST_COMPLETED)
            while True:
                try:
                    on_frames(progress.get_nowait())
                except queue.Empty:
                    break
            for future in finished:
                job = pending.pop(future)
                try:
                    outcomes.append(future.result())
                except Exception as err:  # the worker process itself died
                    outcomes.append(VideoOutcome(job.video, job.log, error=f"worker failed: {type(err).__name__}: {err}"))
                on_done(outcomes[-1])
        return outcomes
    finally:  # stopped (Ctrl-C, SIGTERM) or done: no worker goes on without us
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()


_PROGRESS = None  # in a worker process: the queue its frame counts go to


def _worker_start(parent: int, progress) -> None:
    """In each worker process: end with the parent (even after its kill -9), and keep the progress queue."""
    global _PROGRESS
    _PROGRESS = progress
    die_with_parent(parent)


TRACKER_WARNING = "ignore::UserWarning:multiprocessing.resource_tracker"


def quiet_resource_tracker() -> None:
    """Keep multiprocessing's resource tracker from warning of "leaked semaphore objects" after a kill -9.

    The tracker outlives a killed run and frees the pool's semaphores, as it should; its warning only
    tells a user who stopped the run that it was stopped. It reads PYTHONWARNINGS when it starts.
    """
    current = os.environ.get("PYTHONWARNINGS", "")
    if TRACKER_WARNING not in current.split(","):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [current, TRACKER_WARNING]))


def _run_reporting(job: VideoJob) -> VideoOutcome:
    return run_job(job, lambda _video, frames: _PROGRESS.put(frames))


def die_with_parent(parent: int, every: float = 1.0) -> None:
    """End this process when `parent` ends: at once on Linux (the kernel's parent-death signal), else within `every` seconds.

    A killed command must not leave workers going on through the remaining videos, nor sitting
    idle for ever, nor racing a re-run on the same files.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it ended before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


# ---------------------------------------------------------------- one run per log folder

LOCK_NAME = ".emotion-monitor.lock"


@contextlib.contextmanager
def run_lock(log_dir: Path):
    """Hold the log folder for this run: a second run on it is refused with a line naming this one.

    The lock is the operating system's (flock), so it goes with the process however it ends,
    kill -9 included, and never needs cleaning up.
    """
    import socket
    import sys

    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = log_dir / LOCK_NAME
    try:
        handle = open(path, "a+")  # noqa: SIM115 (held for the whole run)
    except OSError as err:
        if path.exists():  # the folder may be fine: the lock file itself is what cannot be opened
            raise UserError(
                f"{path}: cannot open this log folder's lock file ({err.strerror}); make it writable or delete it "
                "(it only marks a folder-of-videos run in progress)"
            ) from None
        raise UserError(f"--log {log_dir}: cannot write there ({err.strerror}); pass a writable folder") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            raise UserError(f"--log {log_dir}: {holder} is working on this folder; wait for it to end or pass another --log") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"run {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')} ({' '.join(sys.argv)})")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


def connect(address: str):
    """A client of the Dask scheduler at `address`; one-line errors when Dask is missing or the scheduler is not there."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise UserError("--cluster needs Dask: pip install -r requirements-dask.txt (on this machine and on every worker)") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as err:
        raise UserError(f"--cluster {address}: cannot reach the Dask scheduler ({err}); start one with `dask scheduler`") from None


def run_dask(jobs: list[VideoJob], client, on_frames: Callable[[int], None], on_done: Callable[[VideoOutcome], None]) -> list[VideoOutcome]:
    """Run the jobs on a Dask cluster (`connect`); its workers need this project installed and the videos at the same paths."""
    from dask.distributed import as_completed

    outcomes = []
    try:
        futures = {client.submit(run_job, job, pure=False, key=f"video-{i}-{Path(job.video).name}"): job for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = future.result()
            except Exception as err:
                text = str(err).splitlines()[0] if str(err) else ""
                if "deserializ" in text:
                    text += " (can the workers import this project? install it on every worker: pip install .)"
                outcome = VideoOutcome(job.video, job.log, error=f"worker failed: {type(err).__name__}: {text}")
            on_frames(outcome.frames * job.settings.stride)
            outcomes.append(outcome)
            on_done(outcome)
    finally:
        client.close()
    return outcomes


def table(outcomes: list[VideoOutcome]) -> str:
    """The final table: one line per video (frames, faces, labels, time, status)."""
    lines = [f"{'video':<36}{'frames':>8}{'faces':>8}  {'labels':<30}{'seconds':>8}  status"]
    for o in sorted(outcomes, key=lambda o: o.video):
        total = sum(o.labels.values())
        labels = ", ".join(f"{k} {v / total:.0%}" for k, v in o.labels.most_common(3)) if total else ""
        status = "already done" if o.skipped else ("FAILED: " + o.error if o.error else "ok")
        name = Path(o.video).name
        if o.skipped:  # not analysed in this run: its numbers are in its log, not zeros
            lines.append(f"{name[:35]:<36}{'':>8}{'':>8}  {'(see its log)':<30}{'':>8}  {status}")
            continue
        lines.append(f"{name[:35]:<36}{o.frames:>8}{o.faces:>8}  {labels:<30}{o.seconds:>8.1f}  {status}")
    return "\n".join(lines)
