"""The report's benchmark: reading and summarising a long generated log, against plain pandas."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.moodlog.schema import columns_for

CLASSES = ("happy", "sad")


def generate_log(path: Path, rows: int, fps: float = 30.0, seed: int = 0) -> Path:
    """A monitor-like log: one face that comes and goes, labels in stretches, one row per frame."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2026-11-20T08:00:00+01:00") + pd.to_timedelta(np.arange(rows) / fps, unit="s")
    present = np.repeat(rng.random(rows // 300 + 1) < 0.8, 300)[:rows]
    happy = np.repeat(rng.random(rows // 900 + 1) < 0.6, 900)[:rows]
    p = np.where(happy, rng.uniform(0.55, 1.0, rows), rng.uniform(0.0, 0.45, rows)).round(4)
    df = pd.DataFrame(
        {
            "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "+01:00",
            "source": "0",
            "frame": np.arange(rows),
            "stream_time_s": (np.arange(rows) / fps).round(3),
            "face_id": np.where(present, 1, np.nan),
            "x": np.where(present, 200, np.nan),
            "y": np.where(present, 120, np.nan),
            "w": np.where(present, 180, np.nan),
            "h": np.where(present, 180, np.nan),
            "label": np.where(present, np.where(happy, "happy", "sad"), None),
            "confidence": np.where(present, np.maximum(p, 1 - p), np.nan),
            "p_happy": np.where(present, p, np.nan),
            "p_sad": np.where(present, (1 - p).round(4), np.nan),
        },
        columns=columns_for(CLASSES),
    )
    df.to_csv(path, index=False)
    return path


CHILD = {
    # the whole report, as `python -m monitor report LOG --out DIR` makes it (pictures and HTML included)
    "project": (
        "import io, contextlib; from monitor.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    code = main(['report', sys.argv[1], '--out', sys.argv[1] + '-report'])\n"
        "assert code == 0, code\n"
        "print('done', flush=True)\n"  # the clock stops here; the count below is for the check only
        "frames = sum(1 for _ in open(sys.argv[1], 'rb')) - 1"
    ),
    # the baseline: a plain read of the same file with pandas' defaults
    "baseline": "import pandas as pd, sys\nframes = len(pd.read_csv(sys.argv[1]))\nprint('done', flush=True)",
}


def measure(kind: str, log: Path) -> dict:
    """Run one side in a fresh interpreter; time from outside, memory = its peak (VmHWM) + its children's."""
    code = (
        "import time, sys\n"
        + CHILD[kind]
        + "\nimport resource\nhwm = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
        + "\nkids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss"
        + "\nprint(frames, hwm, kids, flush=True)"
    )
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    done = proc.stdout.readline()  # printed once the work is done: the clock stops here, not after the interpreter's exit
    seconds = time.perf_counter() - started
    line = proc.stdout.readline()
    err = proc.stderr.read()  # little: the report's own output goes to a buffer
    if proc.wait() or done != "done\n":
        raise RuntimeError(err[-500:])
    frames, own_kb, children_kb = map(int, line.split())
    return {"seconds": seconds, "peak_mb": (own_kb + children_kb) / 1024, "own_peak_mb": own_kb / 1024, "children_peak_mb": children_kb / 1024, "frames": frames}


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (its memory with it), and every run's time."""
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**middle, "all_seconds": [round(r["seconds"], 3) for r in runs]}


def run(rows: int, as_json: bool = False, repeats: int = 3) -> int:
    """Both sides `repeats` times, taking turns (so a busy moment hits both); the medians are compared."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "long.csv"
        t = time.perf_counter()
        generate_log(log, rows)
        gen_s = time.perf_counter() - t
        size_mb = log.stat().st_size / 1e6
        runs = [(measure("project", log), measure("baseline", log)) for _ in range(repeats)]
    project, baseline = median_run([p for p, _ in runs]), median_run([b for _, b in runs])
    assert project["frames"] == baseline["frames"] == rows
    result = {
        "rows": rows,
        "repeats": repeats,
        "log_mb": round(size_mb, 1),
        "report": project,
        "baseline_read_csv": baseline,
        "time_ratio": project["seconds"] / baseline["seconds"],  # target: at most 1.5
        "peak_mb": project["peak_mb"],  # target: at most 300
    }
    if as_json:
        print(json.dumps(result))
        return 0
    print(
        f"log of {rows:,} rows ({size_mb:.0f} MB, generated in {gen_s:.1f} s); each side a fresh interpreter, timed from outside,"
        f" median of {repeats} taking turns"
    )
    children = f" ({project['own_peak_mb']:.0f} MB + {project['children_peak_mb']:.0f} MB in child processes)" if project["children_peak_mb"] else ""
    print(f"  monitor report (read, summary, 3 pictures, HTML): {project['seconds']:6.2f} s, peak {project['peak_mb']:6.0f} MB{children}")
    print(f"  baseline: plain pd.read_csv of the log:            {baseline['seconds']:6.2f} s, peak {baseline['peak_mb']:6.0f} MB")
    print(f"  every run (s): report {project['all_seconds']}, read_csv {baseline['all_seconds']}")
    print(f"  report / read_csv time: {result['time_ratio']:.2f}x (target <= 1.5x); report peak {project['peak_mb']:.0f} MB (target <= 300 MB)")
    return 0
