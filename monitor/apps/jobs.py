"""Running many video jobs: processes on this machine or a Dask cluster, with progress and clean stops."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from monitor.apps.videos import VideoJob, VideoOutcome, run_job
from monitor.core.errors import UserError


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
