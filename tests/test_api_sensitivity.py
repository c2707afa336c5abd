"""--class-bias on the command line, EmotionMonitor(class_bias=...) and a bias stored in a model's metadata (what
`train export --class-bias` writes) move the probabilities identically; classify() and video(fps=) for frames in memory."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from monitor import EmotionMonitor
from tests.helpers import MODEL_DIR, run_cli


def first_frames(video, n: int = 10) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    frames = [cap.read()[1] for _ in range(n)]
    cap.release()
    return frames


@pytest.mark.slow
def test_the_bias_is_applied_the_same_by_the_cli_the_api_and_a_stored_operating_point(tmp_path, videos_dir):
    video = videos_dir / "sad_seated_far.mp4"
    stored = tmp_path / "model"
    shutil.copytree(MODEL_DIR, stored)
    meta = json.loads((stored / "metadata.json").read_text())
    meta["class_bias"] = {"sad": 3.0}  # as `train export --class-bias sad=3` stores it
    (stored / "metadata.json").write_text(json.dumps(meta))
    api = EmotionMonitor(class_bias={"sad": 3.0}).dataframe(str(video))
    from_metadata = EmotionMonitor(model=stored).dataframe(str(video))
    plain = EmotionMonitor().dataframe(str(video))
    log = tmp_path / "log.csv"
    proc = run_cli("monitor", "--source", str(video), "--no-display", "--quiet", "--log", str(log), "--class-bias", "sad=3")
    assert proc.returncode == 0, proc.stderr
    cli = pd.read_csv(log)
    columns = ["p_happy", "p_neutral", "p_sad"]
    np.testing.assert_allclose(api[columns].to_numpy(float), from_metadata[columns].to_numpy(float), atol=1e-4)
    np.testing.assert_allclose(api[columns].to_numpy(float), cli[columns].to_numpy(float), atol=1e-4)
    assert (api["label"].astype(str) == cli["label"].astype(str)).all()
    assert (api["p_sad"] > plain["p_sad"]).mean() > 0.95  # leaning towards sad raises p(sad) on (almost) every face
    assert (api["label"] == "sad").sum() > (plain["label"] == "sad").sum()


def test_bad_class_bias_values_are_one_clear_error():
    with pytest.raises(ValueError, match="class_bias"):
        EmotionMonitor(class_bias={"sad": "high"})
    with pytest.raises(ValueError, match="angry"):
        EmotionMonitor(class_bias={"angry": 1.0})
    proc = run_cli("monitor", "--class-bias", "sad", "--no-display")
    assert proc.returncode == 2 and "--class-bias" in proc.stderr and "Traceback" not in proc.stderr


def test_classify_labels_a_picture_that_already_is_a_face(videos_dir):
    monitor = EmotionMonitor()
    image = first_frames(videos_dir / "grin.mp4", 40)[-1]
    (face,) = monitor.analyze(image)
    x, y, w, h = face.box
    crop = image[max(0, y) : y + h, max(0, x) : x + w]
    direct = monitor.classify(crop)
    assert direct.label == face.label and abs(direct.confidence - face.confidence) < 0.05
    small = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (48, 48))  # FER-style: the search often finds no face in these
    assert monitor.classify(small).box == (0, 0, 48, 48) and set(monitor.classify(small).probabilities) == set(monitor.classes)
    with pytest.raises(ValueError, match="face"):
        monitor.classify(np.zeros((0, 0), np.uint8))


def test_video_of_frames_in_memory_is_timed_at_the_given_rate(videos_dir):
    frames = first_frames(videos_dir / "grin.mp4", 6)
    times = [f.time_s for f in EmotionMonitor().video(frames, fps=12.5)]
    assert times == [0.0, 0.08, 0.16, 0.24, 0.32, 0.4]
    assert [f.time_s for f in EmotionMonitor().video(frames)][1] == round(1 / 30, 3)  # 30 per second unless told
    with pytest.raises(ValueError, match="fps"):
        list(EmotionMonitor().video(frames, fps=0))
