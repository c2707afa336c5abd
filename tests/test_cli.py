"""`python -m monitor` end to end on real videos: the log, the output video, signals, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime

import cv2
import numpy as np
import pandas as pd
import pytest

from tests.helpers import MODEL_DIR, ROOT, assert_one_line_error, run_cli, truncated_avi, video_times, write_timed_video

pytestmark = pytest.mark.slow


def read_log(path):
    # text columns as Python strings: a non-UTF-8 file name in `source` cannot be an Arrow string (pandas 3 + pyarrow)
    return pd.read_csv(path, encoding_errors="surrogateescape", dtype={"timestamp": object, "source": object, "label": object})


def test_batch_video_log_and_output(tmp_path, videos_dir):
    log, out = tmp_path / "log.csv", tmp_path / "out.mp4"
    proc = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--log", str(log), "--output", str(out), "--no-display")
    assert proc.returncode == 0, proc.stderr
    df = read_log(log)
    assert sorted(df.frame.unique()) == list(range(72))  # every frame recorded
    faces = df.dropna(subset=["face_id"])
    assert len(faces) >= 65  # one face in (almost) every frame
    assert faces.face_id.value_counts().iloc[0] >= 60  # and it keeps its id
    classes = json.loads((MODEL_DIR / "metadata.json").read_text())["classes"]
    assert set(faces.label) <= set(classes)
    probs = faces[[f"p_{c}" for c in classes]].sum(axis=1)
    assert ((probs - 1).abs() < 0.01).all()
    cap = cv2.VideoCapture(str(out))
    decoded = 0
    while cap.read()[0]:
        decoded += 1
    cap.release()
    assert decoded == 72  # every frame recorded (the header's count is an estimate from the duration, sound included)
    assert "72 frames" in proc.stderr and "labels:" in proc.stderr


def test_a_variable_frame_rate_video_is_logged_and_recorded_at_its_own_times(tmp_path):
    """30 fps for a second, then 10 fps: frame 30 is at 1.1 s (index / average rate said 1.86 s), and so is its copy in --output."""
    times = [i / 30 for i in range(30)] + [1 + i / 10 for i in range(1, 21)]
    video, log, out = write_timed_video(tmp_path / "vfr.mp4", times), tmp_path / "log.csv", tmp_path / "out.mp4"
    proc = run_cli("monitor", "--source", str(video), "--log", str(log), "--output", str(out), "--no-display")
    assert proc.returncode == 0, proc.stderr
    df = read_log(log)
    assert df.frame.tolist() == list(range(50)) and df.stream_time_s.tolist() == [round(t, 3) for t in times]
    got, duration = video_times(out)
    assert np.allclose(got, times, atol=1e-4)  # no drift against the original
    assert abs(duration - video_times(video)[1]) < 0.1  # 3.1 s in; the last frame lasts one average frame


def test_stride_output_plays_as_long_as_the_video(tmp_path, videos_dir):
    """--stride 3: every 3rd frame annotated, each shown until the next, so 2.4 s in is 2.4 s out (was 0.8 s, three times too fast)."""
    src, log, out = videos_dir / "single_face.mp4", tmp_path / "log.csv", tmp_path / "out.mp4"
    proc = run_cli("monitor", "--source", str(src), "--stride", "3", "--log", str(log), "--output", str(out), "--no-display")
    assert proc.returncode == 0, proc.stderr
    df = read_log(log).drop_duplicates("frame")
    assert df.frame.tolist() == list(range(0, 72, 3)) and df.stream_time_s.tolist() == [round(i / 30, 3) for i in range(0, 72, 3)]
    got, duration = video_times(out)
    assert np.allclose(got, [i / 30 for i in range(0, 72, 3)], atol=1e-4)
    assert duration == pytest.approx(video_times(src)[1], abs=1e-3)


def test_no_face_video_logs_empty_rows(tmp_path, videos_dir):
    log = tmp_path / "log.csv"
    proc = run_cli("monitor", "--source", str(videos_dir / "no_face.mp4"), "--log", str(log), "--no-display", "--stride", "2")
    assert proc.returncode == 0, proc.stderr
    df = read_log(log)
    cap, decodable = cv2.VideoCapture(str(videos_dir / "no_face.mp4")), 0
    while cap.grab():
        decodable += 1
    assert len(df) == -(-decodable // 2) and df.face_id.isna().all() and df.label.isna().all()
    assert df.frame.tolist() == list(range(0, decodable, 2))


def test_several_faces_get_distinct_ids(tmp_path, videos_dir):
    log = tmp_path / "log.csv"
    proc = run_cli(
        "monitor", "--source", str(videos_dir / "street_multi_face.mp4"), "--log", str(log), "--no-display", "--max-frames", "30"
    )
    assert proc.returncode == 0, proc.stderr
    df = read_log(log).dropna(subset=["face_id"])
    per_frame = df.groupby("frame").face_id.agg(["count", "nunique"])
    assert (per_frame["count"] == per_frame["nunique"]).all()  # no id twice in a frame
    assert per_frame["count"].max() >= 2


def test_smoothing_flag_changes_labels_not_raw_probabilities(tmp_path, videos_dir):
    logs = {}
    for smooth in ("1", "15"):
        logs[smooth] = tmp_path / f"s{smooth}.csv"
        proc = run_cli("monitor", "--source", str(videos_dir / "grin.mp4"), "--log", str(logs[smooth]), "--no-display", "--smooth", smooth)
        assert proc.returncode == 0, proc.stderr
    raw, smooth = read_log(logs["1"]), read_log(logs["15"])
    pcols = [c for c in raw.columns if c.startswith("p_")]
    pd.testing.assert_frame_equal(raw[pcols], smooth[pcols])
    # with smoothing off the logged confidence is the raw maximum; with 15 frames it is not
    assert ((raw[pcols].max(axis=1) - raw.confidence).abs().dropna() < 1e-3).all()
    assert ((smooth[pcols].max(axis=1) - smooth.confidence).abs().dropna() > 1e-3).any()

    def flips(df):
        lab = df.dropna(subset=["label"]).label
        return int((lab != lab.shift()).sum() - 1)

    assert flips(smooth) <= flips(raw)


def start_realtime(tmp_path, video, log, *extra: str):
    """The monitor as a terminal starts it: Ctrl-C (SIGINT) at its default action.

    A test run started in the background by a script (`pytest &`) inherits SIGINT ignored, as
    POSIX shells do for background jobs, and so would the monitor, which keeps an inherited
    "ignore" like any Unix program (nohup relies on it): the Ctrl-C test would then time out.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--source", str(video), "--realtime", "--no-display", "--log", str(log), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_rows(log, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if log.exists() and log.stat().st_size > 200:
            return
        time.sleep(0.1)
    raise AssertionError("the monitor wrote no rows")


def last_timestamp(df) -> float:
    return datetime.fromisoformat(df.timestamp.iloc[-1]).timestamp()


def test_kill_9_loses_at_most_the_last_second(tmp_path, videos_dir):
    log = tmp_path / "log.csv"
    proc = start_realtime(tmp_path, videos_dir / "frown_then_smile.mp4", log)
    wait_for_rows(log)
    time.sleep(2.5)
    killed_at = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    text = log.read_text()
    assert text.endswith("\n")  # no half-written row
    df = read_log(log)
    assert df.timestamp.notna().all() and df.frame.notna().all()
    assert killed_at - last_timestamp(df) < 1.6


def test_kill_9_keeps_the_recording_playable(tmp_path, videos_dir):
    """The annotated video survives a crash as the log does: what was recorded until about a second before plays."""
    log, video = tmp_path / "k.csv", tmp_path / "k.mp4"
    proc = start_realtime(tmp_path, videos_dir / "glasses_pout_smile.mp4", log, "--output", str(video))
    wait_for_rows(log)
    time.sleep(7)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened(), "the cut recording does not open"
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert fps > 0 and frames / fps >= 4.0, f"{frames} frames at {fps} fps play of about 7 s recorded"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly_with_every_row(tmp_path, videos_dir, sig):
    log = tmp_path / "log.csv"
    # the longest shared video (19.6 s): on a machine slowed by other work, an 8 s clip had once ended before the signal
    proc = start_realtime(tmp_path, videos_dir / "glasses_pout_smile.mp4", log)
    wait_for_rows(log)
    time.sleep(1.0)
    assert proc.poll() is None, "the monitor ended before it could be stopped; the test needs a longer video"
    sent = time.time()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig], err  # as shells expect of a stopped program
    assert "Traceback" not in err and "stopped" in err and "error:" not in err
    df = read_log(log)
    assert sent - last_timestamp(df) < 0.5  # nothing buffered was lost


def test_realtime_keeps_up_with_the_clock(tmp_path, videos_dir):
    log = tmp_path / "log.csv"
    proc = run_cli("monitor", "--source", str(videos_dir / "frown_then_smile.mp4"), "--realtime", "--no-display", "--log", str(log))
    assert proc.returncode == 0, proc.stderr
    assert "latency" in proc.stderr
    df = read_log(log)
    assert df.frame.max() >= 240  # it reached the end of the file, not a backlog


def test_truncated_video_keeps_log_and_says_so(tmp_path, videos_dir):
    video = truncated_avi(videos_dir / "frown_then_smile.mp4", tmp_path / "cut.avi")
    log = tmp_path / "log.csv"
    proc = run_cli("monitor", "--source", str(video), "--no-display", "--log", str(log))
    assert_one_line_error(proc, "cut.avi", "ended early")
    df = read_log(log)
    assert 30 < df.frame.max() < 60
    assert sorted(df.frame.unique()) == list(range(df.frame.max() + 1))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--source", "9"], "cannot open camera"),
        (["--source", "/no/such.mp4"], "not found"),
        (["--model", "/no/such/model"], "not found"),
        (["--log", "/proc/nope/log.csv"], "log.csv"),
        (["--output", "/proc/nope/out.mp4"], "out.mp4"),
        (["--stride", "0"], "--stride 0: must be at least 1"),
        (["--smooth", "0"], "--smooth 0: must be at least 1"),
        (["--max-frames", "0"], "--max-frames 0: must be at least 1"),
        (["--output", "out.txt"], "not a video file name"),
        (["--model", "../shared/videos/single_face.mp4"], "single_face.mp4"),
    ],
)
def test_bad_input_one_line_error(tmp_path, videos_dir, args, needle):
    base = ["--source", str(videos_dir / "single_face.mp4"), "--no-display", "--log", str(tmp_path / "l.csv")]
    proc = run_cli("monitor", *base, *args, timeout=60)
    assert_one_line_error(proc, needle)


def test_not_a_video_file(tmp_path):
    fake = tmp_path / "movie.mp4"
    fake.write_text("not a video")
    proc = run_cli("monitor", "--source", str(fake), "--no-display", "--log", str(tmp_path / "l.csv"))
    assert_one_line_error(proc, "movie.mp4", "not a video")


def test_incompatible_model(tmp_path, videos_dir):
    bad = tmp_path / "model"
    shutil.copytree(MODEL_DIR, bad)
    meta = json.loads((bad / "metadata.json").read_text())
    meta["classes"] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"][: len(meta["classes"]) + 1]  # one more than its outputs
    (bad / "metadata.json").write_text(json.dumps(meta))
    proc = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", str(bad), "--no-display")
    assert_one_line_error(proc, "metadata")
    (bad / "model.tflite").write_bytes(b"garbage")
    proc = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", str(bad / "model.tflite"), "--no-display")
    assert_one_line_error(proc, "model.tflite")


def test_a_model_folder_without_its_tflite_file_says_so(tmp_path, videos_dir):
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    (folder / "model.tflite").unlink()
    proc = run_cli(
        "monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", str(folder), "--no-display",
        "--log", str(tmp_path / "l.csv"), "--max-frames", "2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = [line for line in proc.stderr.splitlines() if "has no model.tflite" in line]
    assert len(notes) == 1 and "slower start, more memory" in notes[0]


def test_log_with_other_columns_is_left_untouched(tmp_path, videos_dir):
    log = tmp_path / "old.csv"
    log.write_text("a,b,c\n1,2,3\n")
    proc = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--no-display", "--log", str(log))
    assert_one_line_error(proc, "old.csv", "other columns")
    assert log.read_text() == "a,b,c\n1,2,3\n"


def test_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path, videos_dir):
    """Same file by the same name, another spelling, a symbolic link or a hard link: never written."""
    video = tmp_path / "a.mp4"
    shutil.copy(videos_dir / "single_face.mp4", video)
    before = video.read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.mp4").symlink_to(video)
    os.link(video, tmp_path / "hard.mp4")
    for output in (video, tmp_path / "sub" / ".." / "a.mp4", tmp_path / "link.mp4", tmp_path / "hard.mp4"):
        log = tmp_path / "l.csv"
        proc = run_cli("monitor", "--source", str(video), "--output", str(output), "--no-display", "--log", str(log))
        assert_one_line_error(proc, "is the input", "--output")
        assert video.read_bytes() == before
        assert not log.exists()  # checked before anything was created


def test_names_that_are_not_utf8_work_instead_of_crashing(tmp_path, videos_dir):
    """OpenCV segfaults on such names (exit 139); the monitor reads and writes them through links."""
    folder = os.fsencode(tmp_path)
    src, out = os.fsdecode(folder + b"/caf\xe9.mp4"), os.fsdecode(folder + b"/s\xf6rtie.mp4")
    shutil.copy(videos_dir / "single_face.mp4", src)
    log = tmp_path / "log.csv"
    proc = run_cli("monitor", "--source", src, "--output", out, "--no-display", "--log", str(log), "--max-frames", "10")
    assert proc.returncode == 0, proc.stderr
    assert len(read_log(log)) >= 10 and os.path.getsize(out) > 1000


def test_empty_folder_and_folder_of_other_files_are_errors_not_success(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("monitor", "--source", str(empty), "--no-display", "--log", str(tmp_path / "l.csv"))
    assert_one_line_error(proc, "empty folder")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("hello")
    proc = run_cli("monitor", "--source", str(notes), "--no-display", "--log", str(tmp_path / "l2.csv"))
    assert_one_line_error(proc, "no picture", "1 .txt")


def test_min_face_larger_than_the_frame_warns(tmp_path, videos_dir):
    proc = run_cli(
        "monitor", "--source", str(videos_dir / "single_face.mp4"), "--no-display", "--log", str(tmp_path / "l.csv"),
        "--min-face", "400", "--max-frames", "3",
    )  # fmt: skip
    assert proc.returncode == 0 and "warning: --min-face 400 is larger than the frame (640x360)" in proc.stderr
    huge = run_cli(
        "monitor", "--source", str(videos_dir / "single_face.mp4"), "--no-display", "--log", str(tmp_path / "h.csv"),
        "--min-face", "100000", "--max-frames", "3",
    )  # fmt: skip
    assert huge.returncode == 0 and "Traceback" not in huge.stderr and "warning: --min-face 100000" in huge.stderr
    assert pd.read_csv(tmp_path / "h.csv")["face_id"].isna().all()  # every frame logged, with no face


def test_library_noise_is_silenced_unless_verbose(tmp_path, videos_dir):
    """No OpenCV camera-probe warnings, no LiteRT delegate line: one line says what is wrong."""
    proc = run_cli("monitor", "--source", "7", "--no-display", "--log", str(tmp_path / "l.csv"))
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("error: cannot open camera")
    video = truncated_avi(videos_dir / "frown_then_smile.mp4", tmp_path / "cut.avi")
    proc = run_cli("monitor", "--source", str(video), "--no-display", "--log", str(tmp_path / "l2.csv"), "--quiet")
    assert proc.stderr.strip().splitlines() == [line for line in proc.stderr.strip().splitlines() if line.startswith("error:")]
    loud = run_cli("monitor", "--source", "7", "--no-display", "--log", str(tmp_path / "l3.csv"), "--verbose")
    assert "XNNPACK" in loud.stderr or "WARN" in loud.stderr


def test_version():
    proc = run_cli("monitor", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("emotion-monitor 0.")


@pytest.mark.slow
def test_eight_class_model_through_overlay_log_and_report(tmp_path, videos_dir):
    log, video = tmp_path / "eight.csv", tmp_path / "eight.mp4"
    proc = run_cli(
        "monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", "emotions", "--no-display",
        "--log", str(log), "--output", str(video), "--max-frames", "30",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    df = pd.read_csv(log)
    classes = ["angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert [c for c in df.columns if c.startswith("p_")] == [f"p_{c}" for c in classes]
    assert np.allclose(df[[f"p_{c}" for c in classes]].sum(axis=1), 1, atol=1e-3) and set(df.label.dropna()) <= set(classes)
    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened() and cap.read()[0]
    cap.release()
    report = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r"), "--json")
    assert report.returncode == 0, report.stderr[-2000:]
    shares = json.loads(report.stdout)["share"]
    assert set(shares) <= set(classes) and abs(sum(shares.values()) - 1) < 1e-3
    timeline = (tmp_path / "r" / "timeline.svg").read_text()
    assert all(f"<title>{label}</title>" in timeline for label, share in shares.items() if share)  # every label shown gets its bars


def test_a_model_restricted_to_some_of_its_classes(tmp_path, videos_dir):
    from monitor.vision.classify import load_classifier

    eight = load_classifier(ROOT / "models" / "emotions")
    three = eight.restricted(["sad", "happy", "neutral"])
    assert three.classes == ("happy", "neutral", "sad")  # the model's own order
    crops = np.random.default_rng(0).integers(0, 255, (5, 48, 48), dtype=np.uint8)
    full, some = eight.probabilities(crops), three.probabilities(crops)
    np.testing.assert_allclose(some.sum(axis=1), 1, atol=1e-5)
    idx = [eight.classes.index(c) for c in three.classes]
    np.testing.assert_allclose(some, full[:, idx] / full[:, idx].sum(axis=1, keepdims=True), atol=1e-5)
    log = tmp_path / "three.csv"
    proc = run_cli(
        "monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", "emotions", "--classes", "happy,neutral,sad",
        "--no-display", "--log", str(log), "--max-frames", "5",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [c for c in pd.read_csv(log).columns if c.startswith("p_")] == ["p_happy", "p_neutral", "p_sad"]
    bad = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", "emotions", "--classes", "happy,bored")
    assert_one_line_error(bad, "--classes happy,bored", "bored is not a class of the model", "contempt")
    two = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", "happy-sad", "--classes", "happy,neutral")
    assert_one_line_error(two, "neutral is not a class of the model")


def test_small_things_a_newcomer_met(tmp_path, videos_dir):
    from monitor.vision.classify import parse_class_bias

    with pytest.raises(ValueError, match="sad is given twice"):
        parse_class_bias("sad=0.5,sad=1")
    # a local folder named like a shipped model but holding no model does not hide the shipped one
    (tmp_path / "emotions").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--source", str(videos_dir / "single_face.mp4"), "--model", "emotions", "--no-display",
         "--log", str(tmp_path / "l.csv"), "--max-frames", "2"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "p_contempt" in pd.read_csv(tmp_path / "l.csv").columns
    # an odd frame size is written padded to even sides, and said
    capture = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    ok, image = capture.read()
    capture.release()
    import av  # OpenCV's writers round odd sizes down; FFV1 keeps them

    container = av.open(str(tmp_path / "odd.mkv"), "w")
    stream = container.add_stream("ffv1", rate=10)
    stream.width, stream.height, stream.pix_fmt = 321, 241, "bgr0"
    for _ in range(5):
        container.mux(stream.encode(av.VideoFrame.from_ndarray(cv2.resize(image, (321, 241)), format="bgr24")))
    container.mux(stream.encode(None))
    container.close()
    proc = run_cli("monitor", "--source", str(tmp_path / "odd.mkv"), "--output", str(tmp_path / "odd.mp4"), "--no-display", "--log", str(tmp_path / "o.csv"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "frames of 321x241 are written as 322x242" in proc.stderr
    # a report never writes over the log it reads
    (tmp_path / "rep").mkdir()
    shutil.copy(tmp_path / "o.csv", tmp_path / "rep" / "timeline.svg")
    proc = run_cli("monitor", "report", str(tmp_path / "rep" / "timeline.svg"), "--out", str(tmp_path / "rep"))
    assert_one_line_error(proc, "timeline.svg", "over this input")
    assert (tmp_path / "rep" / "timeline.svg").read_bytes() == (tmp_path / "o.csv").read_bytes()
