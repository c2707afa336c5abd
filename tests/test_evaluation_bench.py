"""The benchmarks run and report consistent numbers (no timing thresholds here: they print, people judge)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def test_monitor_bench_json(videos_dir):
    proc = run_cli("monitor", "bench", "--frames", "20", "--no-fer", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    project, naive = r["runs"][0], r["runs"][1]
    assert r["size"] == "640x480" and project["frames"] == naive["frames"] == 20
    assert project["faces"] >= 18 and naive["faces"] >= 18  # both find the face in (almost) every frame
    assert set(project["stages_ms"]) >= {"decode", "detect", "classify", "track", "draw", "log"}
    assert abs(r["speedup_vs_naive"] - project["fps"] / naive["fps"]) < 1e-9
    assert 0 < r["startup_to_first_frame_s"] < 60
    assert r["realtime_latency"]["captured"] > 0
    view = next(run for run in r["runs"] if "mood strip" in run["name"])  # the window's bars and strip, one row of their own
    assert view["frames"] == 20 and view["stages_ms"]["view"] > 0
    drawing = view["stages_ms"]["draw"] + view["stages_ms"]["view"] - project["stages_ms"]["draw"]
    assert abs(r["view_cost_ms"] - drawing) < 1e-9


def test_report_bench_json():
    proc = run_cli("monitor", "bench", "--report-rows", "3000", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout)
    assert r["rows"] == 3000 and r["report"]["frames"] == 3000 and r["baseline_read_csv"]["frames"] == 3000
    assert r["report"]["peak_mb"] > 0 and r["baseline_read_csv"]["seconds"] > 0
    assert abs(r["time_ratio"] - r["report"]["seconds"] / r["baseline_read_csv"]["seconds"]) < 1e-9


def test_model_benchmark_prints_per_face_times():
    proc = run_cli("train", "benchmark", "--repeats", "20", "--model", "happy-sad")  # a shipped model by its name, as listed
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "models/happy-sad" in proc.stdout
    for name in ("litert 1 face", "litert batch of 8, per face", "keras-compiled 1 face", "baseline model.predict 1 face"):
        assert name in proc.stdout


def test_videos_bench_compares_jobs_and_dask_in_one_run(tmp_path, videos_dir):
    import shutil

    for name in ("single_face.mp4", "grin.mp4"):
        shutil.copy(videos_dir / name, tmp_path / name)
    proc = run_cli("monitor", "bench", "--videos", str(tmp_path), "--jobs", "2", "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout)
    assert r["videos"] == 2 and r["ratio_jobs"] > 0
    assert all(run["identical_logs"] and run["exit"] == 0 for run in r["runs"].values())
    assert set(r["runs"]) >= {"jobs1", "jobs2"}
