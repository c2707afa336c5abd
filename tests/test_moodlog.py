"""The mood log schema, no-face rows, appending, and refusing a log with other columns."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from monitor.classifier import Prediction
from monitor.errors import UserError
from monitor.faces import Box
from monitor.moodlog import MoodLog, columns_for, rows_for
from monitor.pipeline import Face, FrameResult
from monitor.sources import Frame

CLASSES = ("happy", "sad")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


def result(index: int, faces: int) -> FrameResult:
    frame = Frame(np.zeros((10, 10, 3), np.uint8), index, index / 30, 1_790_000_000.0 + index / 30)
    fs = tuple(Face(Box(10 * i, 5, 40, 40), i + 1, Prediction((0.8, 0.2), CLASSES), Prediction((0.6, 0.4), CLASSES)) for i in range(faces))
    return FrameResult(frame, fs)


def test_schema_rows_and_no_face_row(tmp_path):
    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 2), "cam", 2))
        log.add(rows_for(result(1, 0), "cam", 2))
    df = pd.read_csv(path)
    assert list(df.columns) == [
        "timestamp", "source", "frame", "stream_time_s", "face_id", "x", "y", "w", "h", "label", "confidence", "p_happy", "p_sad",
    ]  # fmt: skip
    assert len(df) == 3
    assert all(ISO.match(t) for t in df.timestamp)
    assert df.face_id.tolist()[:2] == [1, 2] and np.isnan(df.face_id[2])
    assert df.label[0] == "happy" and df.confidence[0] == 0.6  # smoothed label and confidence
    assert df.p_happy[0] == 0.8 and df.p_sad[0] == 0.2  # raw probabilities
    assert df.frame[2] == 1 and pd.isna(df.label[2]) and pd.isna(df.p_happy[2])


def test_append_same_columns_and_refuse_other_columns(tmp_path):
    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 1), "a", 2))
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(1, 1), "b", 2))
    assert pd.read_csv(path).source.tolist() == ["a", "b"]
    before = path.read_bytes()
    with pytest.raises(UserError, match="other columns"), MoodLog(path, ("angry", "happy", "sad")):
        pass
    assert path.read_bytes() == before


def test_rows_reach_the_file_within_flush_interval(tmp_path):
    path = tmp_path / "log.csv"
    log = MoodLog(path, CLASSES, flush_every_s=0.0)
    log.open()
    log.add(rows_for(result(0, 1), "cam", 2))
    assert len(pd.read_csv(path)) == 1  # written while the log is still open
    log.close()


def test_unwritable_log_path_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write the mood log"):
        MoodLog(blocker / "log.csv", CLASSES).open()


def test_columns_follow_model_classes():
    assert columns_for(["a", "b", "c"])[-3:] == ["p_a", "p_b", "p_c"]
