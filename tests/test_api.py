"""The Python API (`from monitor import EmotionMonitor`): pictures in memory, videos, DataFrames, drawing, bad input."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from monitor import EmotionMonitor, FaceEmotion
from tests.helpers import ROOT, run_cli


@pytest.fixture(scope="module")
def monitor() -> EmotionMonitor:
    return EmotionMonitor()


def first_frame(video) -> np.ndarray:
    capture = cv2.VideoCapture(str(video))
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def test_analyze_returns_plain_faces_largest_first(monitor, videos_dir):
    image = first_frame(videos_dir / "street_multi_face.mp4")
    faces = monitor.analyze(image)
    assert len(faces) >= 2 and all(isinstance(f, FaceEmotion) for f in faces)
    areas = [f.box[2] * f.box[3] for f in faces]
    assert areas == sorted(areas, reverse=True)
    for f in faces:
        assert f.label in monitor.classes and set(f.probabilities) == set(monitor.classes)
        assert f.confidence == pytest.approx(max(f.probabilities.values())) and sum(f.probabilities.values()) == pytest.approx(1, abs=1e-3)
        assert all(type(v) is int for v in f.box) and type(f.confidence) is float
    with pytest.raises(AttributeError):
        faces[0].label = "x"  # frozen
    # RGB and gray input give the same faces as BGR
    rgb = monitor.analyze(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), rgb=True)
    assert [(f.box, f.label) for f in rgb] == [(f.box, f.label) for f in faces]
    gray = monitor.analyze(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert [f.box for f in gray] == [f.box for f in faces]
    assert monitor.analyze(np.zeros((240, 320, 3), np.uint8)) == []


def test_the_cli_photo_mode_and_the_api_agree(monitor, videos_dir, tmp_path):
    image = first_frame(videos_dir / "single_face.mp4")
    cv2.imwrite(str(tmp_path / "one.png"), image)
    proc = run_cli("monitor", "--source", str(tmp_path / "one.png"), "--log", str(tmp_path / "log.csv"), "--no-display", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = pd.read_csv(tmp_path / "log.csv")
    faces = monitor.analyze(image)
    assert list(log["label"]) == [f.label for f in faces] and list(log["w"]) == [f.box[2] for f in faces]


def test_video_and_dataframe_match_the_command_lines_log_row_for_row(monitor, videos_dir, tmp_path):
    video = videos_dir / "frown_then_smile.mp4"
    proc = run_cli("monitor", "--source", str(video), "--log", str(tmp_path / "log.csv"), "--no-display", "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = pd.read_csv(tmp_path / "log.csv")
    table = monitor.dataframe(video)
    assert list(table.columns) == list(log.columns) and len(table) == len(log)
    for column in ("frame", "face_id", "x", "y", "w", "h", "label"):
        assert table[column].astype(str).tolist() == log[column].astype("Int64" if column != "label" else object).astype(str).tolist(), column
    assert np.allclose(table["confidence"].astype(float), log["confidence"], atol=1e-4, equal_nan=True)
    frames = list(monitor.video(video))
    assert [f.index for f in frames] == sorted(set(log["frame"]))
    shown = [face.label for f in frames for face in sorted(f.faces, key=lambda x: x.face_id)] or []
    assert shown == log.dropna(subset=["face_id"]).sort_values(["frame", "face_id"])["label"].tolist()
    # an iterable of frames goes through the same tracking and smoothing
    capture = cv2.VideoCapture(str(video))
    images = []
    while len(images) < 30 and (got := capture.read())[0]:
        images.append(got[1])
    capture.release()
    from_frames = [tuple(face.label for face in f.faces) for f in monitor.video(images)]
    assert from_frames == [tuple(face.label for face in f.faces) for f in frames[:30]]


def test_draw_returns_an_annotated_copy(monitor, videos_dir):
    image = first_frame(videos_dir / "single_face.mp4")
    before = image.copy()
    faces = monitor.analyze(image)
    drawn = monitor.draw(image, faces)
    assert np.array_equal(image, before)  # the caller's picture is left alone
    assert drawn.shape == image.shape and (drawn != image).any()
    x, y, w, h = faces[0].box
    assert (drawn[y, x : x + w] != image[y, x : x + w]).any()  # the box's top edge
    with pytest.raises(TypeError, match="FaceEmotion"):
        monitor.draw(image, [faces[0].box])


@pytest.mark.parametrize(
    ("bad", "error", "needle"),
    [
        (None, TypeError, "numpy array"),
        (np.zeros((0, 10, 3), np.uint8), ValueError, "empty"),
        (np.zeros((10, 10, 3), np.float32), ValueError, "uint8"),
        (np.zeros((10, 10, 3), np.int64), ValueError, "uint8"),
        (np.zeros((10, 10, 2), np.uint8), ValueError, "channels"),
        (np.zeros((10,), np.uint8), ValueError, "not a picture"),
    ],
)
def test_bad_pictures_raise_clear_exceptions(monitor, bad, error, needle):
    with pytest.raises(error, match=needle):
        monitor.analyze(bad)


def test_bad_models_options_and_sources_raise_clear_exceptions(monitor, tmp_path):
    with pytest.raises(ValueError, match="no-such-model: model file not found"):
        EmotionMonitor("no-such-model")
    with pytest.raises(ValueError, match="smooth=0"):
        EmotionMonitor(smooth=0)
    with pytest.raises(ValueError, match="not a class of the model|not among"):
        EmotionMonitor(classes=["happy", "angry"])
    with pytest.raises(ValueError, match="video file not found"):
        list(monitor.video(tmp_path / "missing.mp4"))
    with pytest.raises(TypeError, match="analyze"):
        list(monitor.video(np.zeros((10, 10, 3), np.uint8)))
    with pytest.raises(ValueError, match="frame 1"):
        list(monitor.video([np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.float64)]))


def test_the_readme_example_runs(tmp_path, videos_dir):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- api-example[^>]*-->\s*```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 6
    cv2.imwrite(str(tmp_path / "photo.jpg"), first_frame(videos_dir / "single_face.mp4"))
    (tmp_path / "example.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n" + block)
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"^\(\d+, \d+, \d+, \d+\) (happy|neutral|sad) \d+% \{", proc.stdout, re.M), proc.stdout


def test_the_docs_example_script_runs(tmp_path, videos_dir):
    shutil.copy(videos_dir / "grin.mp4", tmp_path / "grin.mp4")
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "example.py"), "grin.mp4"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "grin.mp4: 78 frames, 1 face(s)" in proc.stdout and re.search(r"face 1: 78 frames over 3\.\d s; happy \d+%", proc.stdout)
    assert len(pd.read_csv(tmp_path / "grin-moods.csv")) == 78


def test_one_monitor_shared_by_two_threads_gives_each_thread_its_own_results(videos_dir):
    import threading

    monitor = EmotionMonitor()
    face, blank = first_frame(videos_dir / "single_face.mp4"), np.full((256, 256, 3), 128, np.uint8)
    alone = {"face": monitor.analyze(face), "blank": monitor.analyze(blank)}
    assert len(alone["face"]) == 1 and alone["blank"] == []
    capture = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    frames = [capture.read()[1] for _ in range(30)]
    capture.release()
    video_alone = list(monitor.video(frames))
    got: dict = {}

    def pictures(name, image):
        got[name] = [monitor.analyze(image) for _ in range(20)]

    def video(name):
        got[name] = list(monitor.video(frames))

    def run_together(*jobs):
        threads = [threading.Thread(target=target, args=args) for target, *args in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run_together((pictures, "face", face), (pictures, "blank", blank))
    assert got["face"] == [alone["face"]] * 20 and got["blank"] == [[]] * 20
    run_together((video, "video 1"), (video, "video 2"))  # each thread iterates its own video() generator
    assert [got["video 1"], got["video 2"]] == [video_alone, video_alone]


def test_api_messages_name_the_argument_not_the_flag_and_opencv_stays_quiet(monitor, tmp_path, capfd):
    with pytest.raises(ValueError, match=r"check the path given to source$"):
        list(monitor.video(tmp_path / "missing.mp4"))
    with pytest.raises(ValueError, match=r"pass model with a shipped model's name") as model:
        EmotionMonitor("no-such-model")
    with pytest.raises(ValueError, match=r"^classes happy,angry: angry is not a class") as classes:
        EmotionMonitor(classes=["happy", "angry"])
    capfd.readouterr()
    with pytest.raises(ValueError, match=r"cannot open camera '7': .* pass source with another index") as camera:
        list(monitor.video(7))  # a camera index that does not exist
    assert capfd.readouterr().err == ""  # OpenCV's multi-line warnings about the camera are not printed
    assert not any("--" in str(e.value) for e in (model, classes, camera))


def test_dataframe_dtypes_are_the_same_with_and_without_faces(monitor, videos_dir):
    with_faces = monitor.dataframe([first_frame(videos_dir / "single_face.mp4")] * 2)
    without = monitor.dataframe([np.zeros((240, 320, 3), np.uint8)] * 2)
    assert with_faces["face_id"].notna().all() and without["face_id"].isna().all()
    assert without.dtypes.to_dict() == with_faces.dtypes.to_dict()
    assert without["confidence"].dtype == np.float64 and without["p_happy"].dtype == np.float64


def test_the_docs_example_scripts_usage_line_matches_its_options():
    script = ROOT / "docs" / "example.py"
    usage = script.read_text().split('"""')[1].splitlines()[0]
    shown = set(re.findall(r"--[a-z-]+", usage))
    proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60)
    accepted = set(re.findall(r"--[a-z-]+", proc.stdout.split("\n\n")[0]))  # argparse's usage line: the options it takes
    assert proc.returncode == 0 and shown and shown <= accepted, (shown, proc.stdout)
