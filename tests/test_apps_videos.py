"""A folder of videos: one log each, failures reported, parallel = serial, resumable, and the same on a Dask cluster."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tests.helpers import ROOT, run_cli, video_times, write_timed_video

pytestmark = pytest.mark.slow


@pytest.fixture()
def recordings(tmp_path, videos_dir):
    """Two short shared videos and one broken file that claims to be a video."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    shutil.copy(videos_dir / "single_face.mp4", folder / "a.mp4")
    shutil.copy(videos_dir / "grin.mp4", folder / "b.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    return folder


def rows(path) -> pd.DataFrame:
    """A log without its timestamps (the only column allowed to differ between runs)."""
    return pd.read_csv(path).drop(columns=["timestamp"])


def test_folder_of_videos_one_log_each_and_failures_reported(recordings, tmp_path):
    logs = tmp_path / "logs"
    proc = run_cli("monitor", "--source", str(recordings), "--log", str(logs), "--jobs", "1")
    assert proc.returncode == 1, proc.stderr  # something failed
    assert sorted(p.name for p in logs.iterdir() if not p.name.startswith(".")) == ["mood-a.csv", "mood-a.csv.json", "mood-b.csv", "mood-b.csv.json"]  # each log and its sidecar
    assert "broken.mp4: FAILED: cannot open file" in proc.stderr and "error: 1 of 3 videos failed" in proc.stderr
    assert "a.mp4: 72 frames" in proc.stderr  # the per-video lines and the table
    (recordings / "notes.txt").write_text("not a video")  # not named like a video: left out, and said so
    proc = run_cli("monitor", "--source", str(recordings), "--log", str(logs), "--jobs", "1")
    assert "not a video or picture, left out" in proc.stderr and "notes.txt" in proc.stderr
    a, b = rows(logs / "mood-a.csv"), rows(logs / "mood-b.csv")
    assert sorted(a.frame.unique()) == list(range(72)) and sorted(b.frame.unique()) == list(range(78))


def test_a_video_that_fails_midway_is_reported_and_the_others_finish(recordings, tmp_path, videos_dir):
    from tests.helpers import truncated_avi

    truncated_avi(videos_dir / "frown_then_smile.mp4", recordings / "cut.avi")
    logs = tmp_path / "logs"
    proc = run_cli("monitor", "--source", str(recordings), "--log", str(logs), "--jobs", "2")
    assert proc.returncode == 1
    assert "error: 2 of 4 videos failed" in proc.stderr and "FAILED: ended early" in proc.stderr
    assert (logs / "mood-cut.csv.failed").is_file() and (logs / "mood-a.csv").is_file() and (logs / "mood-b.csv").is_file()


def test_stride_output_of_a_folder_keeps_each_videos_times(tmp_path, videos_dir):
    """--stride 2 --output on a folder: each annotated copy at its frames' own times (a variable rate too), as long as its video."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(videos_dir / "grin.mp4", folder / "grin.mp4")  # 25 fps
    vfr = [i / 30 for i in range(30)] + [1 + i / 10 for i in range(1, 11)]
    write_timed_video(folder / "vfr.mp4", vfr)
    proc = run_cli("monitor", "--source", str(folder), "--stride", "2", "--jobs", "1", "--log", str(tmp_path / "logs"), "--output", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    for name, times in {"grin": [i / 25 for i in range(78)], "vfr": vfr}.items():
        log = pd.read_csv(tmp_path / "logs" / f"mood-{name}.csv").drop_duplicates("frame")
        assert log.stream_time_s.tolist() == [round(t, 3) for t in times[::2]], name
        got, duration = video_times(tmp_path / "out" / f"{name}.mp4")
        assert np.allclose(got, times[::2], atol=1e-4), name
        assert abs(duration - video_times(folder / f"{name}.mp4")[1]) < 0.1, name


def test_two_jobs_give_the_same_logs_as_one(recordings, tmp_path):
    (recordings / "broken.mp4").unlink()
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli("monitor", "--source", str(recordings), "--log", str(one), "--jobs", "1").returncode == 0
    assert run_cli("monitor", "--source", str(recordings), "--log", str(two), "--jobs", "2").returncode == 0
    for name in ("mood-a.csv", "mood-b.csv"):
        pd.testing.assert_frame_equal(rows(one / name), rows(two / name))


def test_resume_skips_finished_videos_and_redoes_unfinished_ones(recordings, tmp_path):
    (recordings / "broken.mp4").unlink()
    logs = tmp_path / "logs"
    assert run_cli("monitor", "--source", str(recordings), "--log", str(logs), "--jobs", "1").returncode == 0
    done_before = (logs / "mood-a.csv").read_bytes()
    # b was interrupted: only a partial log is there
    os.replace(logs / "mood-b.csv", logs / "mood-b.csv.partial")
    text = (logs / "mood-b.csv.partial").read_text()
    (logs / "mood-b.csv.partial").write_text(text[: len(text) // 3])
    proc = run_cli("monitor", "--source", str(recordings), "--log", str(logs), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "1 already done, 1 to do" in proc.stderr
    assert (logs / "mood-a.csv").read_bytes() == done_before and not (logs / "mood-b.csv.partial").exists()
    b = rows(logs / "mood-b.csv")
    assert b.frame.tolist() == sorted(b.frame) and b.frame.is_unique and len(b) == 78  # complete once, nothing twice
    again = run_cli("monitor", "--source", str(recordings), "--log", str(logs), "--redo", "--jobs", "1")
    assert "0 already done, 2 to do" in again.stderr


def test_kill_9_mid_folder_then_rerun_completes_every_log_once(tmp_path, videos_dir):
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("frown_then_smile.mp4", "glasses_pout_smile.mp4", "single_face.mp4"):
        shutil.copy(videos_dir / name, folder / name)
    logs = tmp_path / "logs"
    cmd = [sys.executable, "-m", "monitor", "--source", str(folder), "--log", str(logs), "--jobs", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(logs.glob("*.csv")):  # the first video done, the next one under way
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert list(logs.glob("*.partial")), "the kill should have caught a video midway"
    assert run_cli("monitor", "--source", str(folder), "--log", str(logs), "--jobs", "2").returncode == 0
    counts = {"mood-frown_then_smile.csv": 250, "mood-glasses_pout_smile.csv": 587, "mood-single_face.csv": 72}
    assert sorted(p.name for p in logs.iterdir() if not p.name.startswith(".")) == sorted([*counts, *(f"{c}.json" for c in counts)])  # with sidecars
    for name, n in counts.items():
        df = rows(logs / name)
        assert not df.duplicated(["frame", "face_id"]).any(), name  # nothing twice
        assert df.frame.nunique() >= n - 3, name  # every frame (containers may announce a few more than they hold)


def test_the_same_logs_on_a_dask_cluster_of_two_workers(recordings, tmp_path):
    if os.environ.get("CI", "").lower() == "true":
        import dask.distributed  # noqa: F401  (CI installs requirements-dask.txt: a missing Dask fails here)
    distributed = pytest.importorskip("dask.distributed")
    (recordings / "broken.mp4").unlink()
    one = tmp_path / "one"
    assert run_cli("monitor", "--source", str(recordings), "--log", str(one), "--jobs", "1").returncode == 0
    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None  # spawned workers import the project like this process
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        proc = run_cli("monitor", "--source", str(recordings), "--log", str(tmp_path / "dask"), "--cluster", cluster.scheduler_address)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "on Dask cluster tcp://127.0.0.1" in proc.stderr
    for name in ("mood-a.csv", "mood-b.csv"):
        pd.testing.assert_frame_equal(rows(one / name), rows(tmp_path / "dask" / name))


def test_bad_cluster_address_and_log_file_for_many_videos(recordings, tmp_path):
    from tests.helpers import assert_one_line_error

    (recordings / "broken.mp4").unlink()
    assert_one_line_error(run_cli("monitor", "--source", str(recordings), "--log", str(tmp_path / "one.csv")), "--log", "names a folder")
    assert_one_line_error(run_cli("monitor", "--source", str(recordings), "--jobs", "0"), "--jobs 0")
    if pytest.importorskip("dask.distributed"):
        proc = run_cli("monitor", "--source", str(recordings), "--log", str(tmp_path / "l"), "--cluster", "tcp://127.0.0.1:9")
        assert_one_line_error(proc, "--cluster tcp://127.0.0.1:9", "cannot reach")


def test_a_folder_with_pictures_and_videos_is_refused(recordings, tmp_path):
    import cv2
    import numpy as np

    from tests.helpers import assert_one_line_error

    cv2.imwrite(str(recordings / "photo.png"), np.zeros((100, 100), np.uint8))
    assert_one_line_error(run_cli("monitor", "--source", str(recordings)), "1 pictures and 3 videos", "separate folders")


def children_of(pid: int) -> list[int]:
    """Every process whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_takes_the_workers_with_it_and_a_second_run_is_refused(tmp_path, videos_dir):
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("glasses_pout_smile.mp4", "posed_faces_filter.mp4", "talking_smiling.mp4"):
        shutil.copy(videos_dir / name, folder / name)
    logs = tmp_path / "logs"
    cmd = [sys.executable, "-m", "monitor", "--source", str(folder), "--log", str(logs), "--jobs", "2", "--quiet"]
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not list(logs.glob("*.partial")):  # workers under way
            time.sleep(0.2)
        workers = children_of(proc.pid)  # the two workers and multiprocessing's resource tracker
        assert len(workers) >= 2, workers
        second = run_cli("monitor", "--source", str(folder), "--log", str(logs), "--jobs", "1")
        assert second.returncode == 2 and f"run {proc.pid}" in second.stderr and "is working on this folder" in second.stderr
        assert len([line for line in second.stderr.splitlines() if line.startswith("error:")]) == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        end = time.time() + 10
        while time.time() < end and any(alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(alive(w) for w in workers), "workers outlived the killed run"
        # the orphaned resource tracker frees the dead run's semaphores without a warning the user can do nothing about
        assert "leaked semaphore" not in stderr.read_text(), stderr.read_text()[-2000:]
    finally:
        for w in children_of(proc.pid):
            os.kill(w, signal.SIGKILL)
    again = run_cli("monitor", "--source", str(folder), "--log", str(logs), "--jobs", "2", timeout=600)  # the lock went with the run
    assert again.returncode == 0, again.stderr[-2000:]


def test_unwritable_log_folder_and_missing_dask_are_checked_up_front(recordings, tmp_path):
    from tests.helpers import assert_one_line_error

    (recordings / "broken.mp4").unlink()
    blocked = tmp_path / "file"
    blocked.write_text("x")
    proc = run_cli("monitor", "--source", str(recordings), "--log", str(blocked / "logs"))
    assert_one_line_error(proc, "--log")
    assert "a.mp4" not in proc.stderr  # no video was tried
    proc = run_cli("monitor", "--source", str(recordings), "--log", "/proc/logs")  # a folder nobody can create, even root
    assert_one_line_error(proc, "/proc/logs")
    env_without_dask = {"PYTHONPATH": str(tmp_path / "nodask")}
    (tmp_path / "nodask" / "dask").mkdir(parents=True)
    (tmp_path / "nodask" / "dask" / "__init__.py").write_text("raise ImportError('no dask here')\n")
    fresh = tmp_path / "never-made"
    proc = run_cli("monitor", "--source", str(recordings), "--log", str(fresh), "--cluster", "tcp://127.0.0.1:9", env=env_without_dask)
    assert_one_line_error(proc, "--cluster needs Dask")
    assert not fresh.exists() and "videos (" not in proc.stderr  # nothing announced, no empty log folder left


def test_jobs_zero_and_an_empty_folder_are_input_errors(tmp_path, videos_dir):
    from tests.helpers import assert_one_line_error

    proc = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--jobs", "0", "--log", str(tmp_path / "l.csv"))
    assert_one_line_error(proc, "--jobs 0")
    (tmp_path / "empty").mkdir()
    proc = run_cli("monitor", "--source", str(tmp_path / "empty"), "--log", str(tmp_path / "e.csv"))
    assert_one_line_error(proc, "empty folder")
    assert proc.returncode == 2 and not (tmp_path / "e.csv").exists()


def test_a_long_video_name_gets_a_short_unique_log_and_bad_outputs_are_caught_up_front(tmp_path, videos_dir):
    from monitor.apps.videos import log_name
    from tests.helpers import assert_one_line_error

    folder = tmp_path / "long"
    folder.mkdir()
    stems = ["v" * 246, "v" * 245 + "w"]  # same start: the names must stay apart
    for stem in stems:
        shutil.copy(videos_dir / "grin.mp4", folder / f"{stem}.mp4")
    names = {log_name(folder / f"{stem}.mp4", folder) for stem in stems}
    assert len(names) == 2 and all(len(n) + len(".partial") <= 255 for n in names)
    assert log_name(folder / "short.mp4", folder) == "mood-short.csv"  # ordinary names unchanged
    proc = run_cli("monitor", "--source", str(folder), "--log", str(tmp_path / "logs"), "--max-frames", "5", "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "logs").glob("*.csv")) == sorted(names)
    # an --output folder that cannot be written (even by root) and a lock file that cannot be opened: one line, no video tried
    proc = run_cli("monitor", "--source", str(folder), "--log", str(tmp_path / "l2"), "--output", "/proc", timeout=120)
    assert_one_line_error(proc, "/proc", "--output")
    assert "FAILED" not in proc.stderr and not list((tmp_path / "l2").glob("*.failed"))
    (tmp_path / "l3" / ".emotion-monitor.lock").mkdir(parents=True)
    proc = run_cli("monitor", "--source", str(folder), "--log", str(tmp_path / "l3"), timeout=120)
    assert_one_line_error(proc, ".emotion-monitor.lock", "lock file")
    long_output = tmp_path / ("o" * 300 + ".mp4")
    proc = run_cli("monitor", "--source", str(videos_dir / "grin.mp4"), "--output", str(long_output), "--log", str(tmp_path / "x.csv"))
    assert_one_line_error(proc, "file name too long", "--output")
