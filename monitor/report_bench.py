"""Benchmark of `monitor report` on a long log (10 h at 30 fps is about a million rows).

Each reader runs in its own process so its peak memory is its own; the baseline computes the
same summary after the obvious `pd.read_csv(path)` of every column with inferred dtypes,
measured in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.moodlog import columns_for

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
    "project": (
        "from monitor.report import read_logs, summarise; from pathlib import Path; import sys\n"
        "s = summarise(read_logs([Path(sys.argv[1])]).rows, '1h'); print(s.frames)"
    ),
    # the same summary, after the obvious read of every column with inferred dtypes
    "baseline": (
        "import pandas as pd, sys; from monitor.report import media_time, summarise\n"
        "df = pd.read_csv(sys.argv[1]); df['timestamp'] = pd.to_datetime(df['timestamp'], format='ISO8601', utc=True)\n"
        "df['log'] = 'long.csv'\n"
        "df['t'], df['media_s'] = media_time(df)\n"
        "for c in ('source', 'label', 'log'): df[c] = df[c].astype(str).where(df[c].notna()).astype('category')\n"
        "print(summarise(df, '1h').frames)"
    ),
}


def measure(kind: str, log: Path) -> dict:
    """Run one reader in a fresh process; peak memory is that process's VmHWM (reset by exec)."""
    code = (
        "import time, sys\nt = time.perf_counter()\n"
        + CHILD[kind]
        + "\nhwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]"
        + "\nprint(time.perf_counter() - t, hwm)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-500:])
    frames, line = proc.stdout.split("\n")[:2]
    seconds, rss_kb = line.split()
    return {"seconds": float(seconds), "peak_mb": int(rss_kb) / 1024, "frames": int(frames)}


def run(rows: int, as_json: bool = False) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "long.csv"
        t = time.perf_counter()
        generate_log(log, rows)
        gen_s = time.perf_counter() - t
        size_mb = log.stat().st_size / 1e6
        project, baseline = measure("project", log), measure("baseline", log)
    assert project["frames"] == baseline["frames"] == rows
    result = {
        "rows": rows,
        "log_mb": round(size_mb, 1),
        "project": project,
        "baseline_read_all_columns": baseline,
        "time_ratio": baseline["seconds"] / project["seconds"],
        "memory_ratio": baseline["peak_mb"] / project["peak_mb"],
    }
    if as_json:
        print(json.dumps(result))
        return 0
    print(f"log of {rows:,} rows ({size_mb:.0f} MB, generated in {gen_s:.1f} s); each reader in its own process")
    print(f"  monitor report (needed columns, explicit dtypes):    {project['seconds']:6.2f} s, peak {project['peak_mb']:6.0f} MB")
    print(f"  same summary after pd.read_csv of all columns: {baseline['seconds']:6.2f} s, peak {baseline['peak_mb']:6.0f} MB")
    print(f"  ratio: {result['time_ratio']:.1f}x faster, {result['memory_ratio']:.1f}x less memory")
    return 0
