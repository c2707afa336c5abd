"""`python -m monitor bench`: the monitor's per-frame speed against a naive loop and the fer package, in one run."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from monitor import program
from monitor.core.errors import UserError
from monitor.evaluation.truth import ROOT, SHARED

SHARED_VIDEO = SHARED / "videos" / "single_face.mp4"


def vga_video(src: Path, dst: Path) -> Path:
    """The 640x360 single-face clip letterboxed to 640x480, the size fer's numbers are quoted for."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frame = cv2.resize(frame, (640, int(frame.shape[0] * 640 / frame.shape[1])))
        pad = (480 - frame.shape[0]) // 2
        writer.write(cv2.copyMakeBorder(frame, pad, 480 - frame.shape[0] - pad, 0, 0, cv2.BORDER_CONSTANT))
    writer.release()
    cap.release()
    return dst


def decode_all(path: Path, limit: int | None) -> tuple[list[np.ndarray], float]:
    """All frames in memory (so decoding is timed once, apart from the loops) and ms per frame."""
    cap = cv2.VideoCapture(str(path))
    frames, t = [], time.perf_counter()
    while limit is None or len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    ms = (time.perf_counter() - t) * 1000 / max(1, len(frames))
    cap.release()
    if not frames:
        raise UserError(f"{path}: no frame could be decoded; pass another --source")
    if limit and len(frames) < limit:  # a short clip is played forth and back, for steadier numbers
        cycle = frames + frames[-2:0:-1]
        frames = [cycle[i % len(cycle)] for i in range(limit)]
    return frames, ms


def project_loop(
    frames: list[np.ndarray], model: Path | None, log_dir: Path, detect_every: int = 4, keep_still: bool = True, view: bool = False
) -> dict:
    """The monitor's own per-frame path: detect, classify (one batch), track, draw, log.

    `keep_still=False` re-finds every face between full scans even when it has not moved (the
    pipeline before the Stillness shortcut), to show what that shortcut is worth in the same run.
    `view=True` draws what the window adds: probability bars, the mood strip and the key hint.
    """
    from monitor.apps.live_view import LiveView, MoodStrip, ViewState
    from monitor.apps.loop import Annotate, FrameLoop, LogRows
    from monitor.core.types import Frame
    from monitor.moodlog.writer import MoodLog
    from monitor.vision.classify import load_classifier
    from monitor.vision.pipeline import STILL_THRESHOLD, make_pipeline

    clf = load_classifier(model)
    still = STILL_THRESHOLD if keep_still else None
    with MoodLog(log_dir / "warm-up.csv", clf.classes) as log:  # first calls allocate and import; fer gets the same courtesy
        warm = FrameLoop(make_pipeline(clf, detect_every=detect_every, still=still), [Annotate(), LogRows(log, "bench")])
        warm.run_all(Frame(image.copy(), i, 0.0, 0.0) for i, image in enumerate(frames[:5]))
    pipe = make_pipeline(clf, detect_every=detect_every, still=still)
    faces = 0
    with MoodLog(log_dir / "project.csv", clf.classes) as log:
        steps = [Annotate(bars=True), LiveView(ViewState(), MoodStrip(clf.classes))] if view else [Annotate()]
        loop = FrameLoop(pipe, [*steps, LogRows(log, "bench")])
        t0 = time.perf_counter()
        for result in loop.run(Frame(image.copy(), i, i / 30, time.time()) for i, image in enumerate(frames)):
            faces += len(result.faces)
        total = time.perf_counter() - t0
    stage = {**loop.seconds, **pipe.seconds}
    name = "project pipeline" + (f" (full scan every {detect_every})" if detect_every > 1 else " (full scan every frame)")
    if detect_every > 1 and not keep_still:
        name = f"project, every face re-found (scan every {detect_every})"
    if view:
        name = "project + bars and mood strip (window)"
    return timing_row(name, total, len(frames), faces, stage)


def naive_loop(frames: list[np.ndarray], model: Path | None, log_dir: Path) -> dict:
    """A straightforward loop: full-resolution Haar, model.predict per face, DataFrame row per face."""
    import keras
    import pandas as pd

    from monitor.core.crop import CropRule
    from monitor.core.types import Box
    from monitor.vision.models import read_metadata, resolve

    path = resolve(model, prefer=".keras")
    path = path.with_suffix(".keras")
    meta = read_metadata(path)
    net = keras.saving.load_model(path, compile=False)
    rule = CropRule(**meta["crop_rule"])
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    df = pd.DataFrame(columns=["timestamp", "frame", "x", "y", "w", "h", "label", "confidence"])
    stage = defaultdict(float)
    faces = 0
    t0 = time.perf_counter()
    for i, image in enumerate(frames):
        image = image.copy()
        t = time.perf_counter()
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
        t1 = time.perf_counter()
        stage["detect"] += t1 - t
        for x, y, w, h in boxes if len(boxes) else []:
            t = time.perf_counter()
            crop = rule.crop(gray, Box(int(x), int(y), int(w), int(h))).astype("float32")[None, :, :, None]
            p = net.predict(crop, verbose=0)[0]
            t1 = time.perf_counter()
            label = meta["classes"][int(np.argmax(p))]
            cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), 2)
            cv2.putText(image, label, (int(x), int(y) - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)
            t2 = time.perf_counter()
            row = pd.DataFrame([[time.time(), i, x, y, w, h, label, float(p.max())]], columns=df.columns)
            df = pd.concat([df, row], ignore_index=True) if len(df) else row
            t3 = time.perf_counter()
            stage["classify"] += t1 - t
            stage["draw"] += t2 - t1
            stage["log"] += t3 - t2
            faces += 1
    df.to_csv(log_dir / "naive.csv", index=False)
    return timing_row("naive loop", time.perf_counter() - t0, len(frames), faces, stage)


def fer_loop(frames: list[np.ndarray]) -> dict | None:
    """The `fer` package's detect_emotions per frame (Haar + quantized mini-Xception), if installed."""
    try:
        from fer.fer import FER
    except ImportError:
        return None
    detector = FER(mtcnn=False)
    detector.detect_emotions(frames[0])  # warm-up
    faces = 0
    t0 = time.perf_counter()
    for image in frames:
        faces += len(detector.detect_emotions(image))
    return timing_row("fer (Haar + TFLite mini-Xception)", time.perf_counter() - t0, len(frames), faces, {})


def timing_row(name: str, total: float, n: int, faces: int, stage: dict) -> dict:
    return {
        "name": name,
        "frames": n,
        "faces": faces,
        "fps": n / total,
        "ms_per_frame": 1000 * total / n,
        "stages_ms": {k: 1000 * v / n for k, v in stage.items()},
    }


def startup_seconds(video: Path, model: Path | None) -> float:
    """Launch of `python -m monitor` to its first annotated frame (process start to exit after one frame)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "monitor", "--source", str(video), "--no-display", "--max-frames", "1", "--quiet"]
        cmd += ["--log", str(Path(tmp) / "l.csv")] + (["--model", str(model)] if model else [])
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        return time.perf_counter() - t


def live_latency(video: Path, model: Path | None) -> dict:
    """Capture-to-shown latency in --realtime mode (the camera stand-in), as the monitor reports it."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "monitor", "--source", str(video), "--realtime", "--no-display", "--log", str(Path(tmp) / "l.csv")]
        if model:
            cmd += ["--model", str(model)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"median (\d+) ms, p95 (\d+) ms; dropped (\d+) of (\d+)", proc.stderr)
    if not m:
        return {}
    return {"median_ms": int(m.group(1)), "p95_ms": int(m.group(2)), "dropped": int(m.group(3)), "captured": int(m.group(4))}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program("monitor") + " bench", description="Frame rate and per-stage time of the monitor vs a naive loop and fer."
    )
    p.add_argument("--source", type=Path, help="video to measure on (default: ../shared/videos/single_face.mp4 letterboxed to 640x480)")
    p.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    p.add_argument("--frames", type=int, default=300, help="frames per loop (default 300; a shorter clip is played forth and back)")
    p.add_argument("--no-fer", action="store_true", help="skip fer even when it is installed")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--report-rows", type=int, help="instead: time `monitor report` on a generated log of this many rows")
    p.add_argument("--repeats", type=int, default=3, help="with --report-rows: runs of each side, taking turns; medians compared (default 3)")
    p.add_argument(
        "--videos",
        nargs="?",
        const=SHARED_VIDEO.parent,
        type=Path,
        metavar="DIR",
        help="instead: time a folder of videos with --jobs 1, --jobs N and a local Dask cluster (default folder: ../shared/videos)",
    )
    p.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, help="with --videos: the parallel run's processes (default: one per core)"
    )
    p.add_argument("--verbose", action="store_true", help="also show the libraries' own messages")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.report_rows:
        from monitor.evaluation.report_bench import run as report_bench

        if args.repeats < 1 or args.report_rows < 1:
            raise UserError("--report-rows and --repeats must be at least 1")
        return report_bench(args.report_rows, args.json, args.repeats)
    if args.videos:
        return videos_bench(args.videos, args.jobs, args.model, args.json)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.source:
            if not args.source.is_file():
                raise UserError(f"{args.source}: video not found; pass an existing file to --source")
            video = args.source
        elif SHARED_VIDEO.is_file():
            video = vga_video(SHARED_VIDEO, tmp / "single_face_640x480.mp4")
        else:
            raise UserError("no shared data beside this program (it is not run from a checkout next to ../shared); pass a video with --source")
        frames, decode_ms = decode_all(video, args.frames)
        runs = [
            project_loop(frames, args.model, tmp, 4),
            naive_loop(frames, args.model, tmp),
            project_loop(frames, args.model, tmp, 1),
            project_loop(frames, args.model, tmp, 4, keep_still=False),
            project_loop(frames, args.model, tmp, 4, view=True),
        ]
        fer = None if args.no_fer else fer_loop(frames)
        if fer:
            runs.append(fer)
        for r in runs:  # every loop pays the same decoding: add it, so fps is end to end
            r["stages_ms"]["decode"] = decode_ms
            r["ms_per_frame"] += decode_ms
            r["fps"] = 1000.0 / r["ms_per_frame"]
        startup = startup_seconds(video, args.model)
        latency = live_latency(video, args.model)
    h, w = frames[0].shape[:2]
    result = {
        "video": str(args.source or "single_face.mp4 letterboxed to 640x480"),
        "size": f"{w}x{h}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": runs,
        "speedup_vs_naive": runs[0]["fps"] / runs[1]["fps"],
        "speedup_vs_fer": runs[0]["fps"] / fer["fps"] if fer else None,
        # what the window adds is drawing: the bars in `draw` and the strip and hint in `view`, against the plain overlay's
        # `draw` (detection and classification, the same code in both rows, only add noise to a whole-frame difference)
        "view_cost_ms": runs[4]["stages_ms"]["draw"] + runs[4]["stages_ms"]["view"] - runs[0]["stages_ms"]["draw"],
        "startup_to_first_frame_s": startup,
        "realtime_latency": latency,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['video']} ({result['size']}, {len(frames)} frames per loop) on {result['machine']}")
    stages = ["decode", "detect", "classify", "track", "draw", "view", "log"]
    print(f"{'loop':<36}{'fps':>8}{'ms/frame':>10}{'faces':>7}  " + "".join(f"{s:>9}" for s in stages))
    for r in runs:
        cells = "".join(f"{r['stages_ms'][s]:>9.2f}" if s in r["stages_ms"] else f"{'-':>9}" for s in stages)
        print(f"{r['name']:<36}{r['fps']:>8.1f}{r['ms_per_frame']:>10.2f}{r['faces']:>7}  {cells}")
    print(
        f"speed-up: {result['speedup_vs_naive']:.1f}x the naive loop"
        + (f", {result['speedup_vs_fer']:.1f}x fer" if fer else ", fer not installed (pip install --no-deps fer)")
    )
    print(
        f"bars and mood strip cost {result['view_cost_ms']:+.2f} ms a frame (drawing with them against the plain overlay, same run; "
        f"whole frames {runs[4]['ms_per_frame'] - runs[0]['ms_per_frame']:+.2f} ms, detection noise included)"
    )
    print(f"startup to first annotated frame: {startup:.2f} s")
    if latency:
        print(
            f"--realtime capture-to-shown latency: median {latency['median_ms']} ms, p95 {latency['p95_ms']} ms ({latency['dropped']} of {latency['captured']} frames dropped)"
        )
    return 0


def videos_bench(folder: Path, jobs: int, model: Path | None, as_json: bool) -> int:
    """Wall time of a folder of videos with --jobs 1, --jobs N and on a local 2-worker Dask cluster, in one run; the logs compared."""
    import pandas as pd

    if not folder.is_dir():
        where = "" if folder != SHARED_VIDEO.parent else " (no shared data beside this program)"
        raise UserError(f"{folder.name if where else folder}: no such folder of videos{where}; pass --videos DIR")
    base = [sys.executable, "-m", "monitor", "--source", str(folder), "--quiet", *(["--model", str(model)] if model else [])]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def timed(name: str, extra: list[str], env: dict | None = None) -> None:
            t = time.perf_counter()
            proc = subprocess.run([*base, "--log", str(tmp / name), *extra], cwd=ROOT, capture_output=True, text=True, env=env)
            runs[name] = {"seconds": time.perf_counter() - t, "exit": proc.returncode}

        timed("jobs1", ["--jobs", "1"])
        timed(f"jobs{jobs}", ["--jobs", str(jobs)])
        try:
            from dask.distributed import LocalCluster

            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
                timed("dask2", ["--cluster", cluster.scheduler_address], env)
        except ImportError:
            pass
        logs = sorted(p.name for p in (tmp / "jobs1").glob("*.csv"))
        for name in runs:
            same = all(
                (tmp / name / log).is_file()
                and pd.read_csv(tmp / "jobs1" / log)
                .drop(columns="timestamp")
                .equals(pd.read_csv(tmp / name / log).drop(columns="timestamp"))
                for log in logs
            )
            runs[name]["identical_logs"] = same
    n = len(logs)
    result = {
        "folder": str(folder),
        "videos": n,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "runs": runs,
        "ratio_jobs": runs[f"jobs{jobs}"]["seconds"] / runs["jobs1"]["seconds"],
    }
    if "dask2" in runs:
        result["dask_overhead_per_video_s"] = (runs["dask2"]["seconds"] - runs[f"jobs{jobs}"]["seconds"]) / max(n, 1)
    if as_json:
        print(json.dumps(result))
        return 0
    print(f"{n} videos in {folder} on {result['machine']} (exit 1 when some video fails; logs compared apart from timestamps)")
    for name, r in runs.items():
        print(f"  {name:<8} {r['seconds']:7.1f} s   exit {r['exit']}   logs identical to --jobs 1: {r['identical_logs']}")
    print(f"--jobs {jobs} / --jobs 1 wall time: {result['ratio_jobs']:.2f}")
    if "dask_overhead_per_video_s" in result:
        print(f"Dask (2 local workers) against --jobs {jobs}: {result['dask_overhead_per_video_s']:+.2f} s per video")
    return 0
