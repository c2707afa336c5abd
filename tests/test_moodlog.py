"""The mood log schema, no-face rows, appending, and refusing a log with other columns."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor.core.errors import UserError
from monitor.core.types import Box, Face, Frame, FrameResult, Prediction
from monitor.moodlog.schema import columns_for, rows_for
from monitor.moodlog.writer import MoodLog

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
    with pytest.raises(UserError, match="file is a file, not a folder; pass another --log"):  # not "File exists"
        MoodLog(blocker / "log.csv", CLASSES).open()
    read_only = tmp_path / "ro"
    read_only.mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(UserError, match="cannot write the mood log"):
            MoodLog(read_only / "log.csv", CLASSES).open()
    with pytest.raises(UserError, match="is a folder; pass a file name for --log"):
        MoodLog(tmp_path, CLASSES).open()


def test_append_after_a_cut_last_line_keeps_every_new_row_whole(tmp_path):
    """A crash (kill -9, full disk) can leave a cut last line; appending must not glue a row onto it."""
    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 1), "cam", 2))
        log.add(rows_for(result(1, 1), "cam", 2))
    text = path.read_text()
    path.write_text(text[: text.rindex("happy") + 3])  # the last row cut mid-word, no newline
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(2, 1), "cam", 2))
    lines = path.read_text().splitlines()
    assert lines[-2].endswith(",hap") and lines[-1].startswith("20") and len(lines) == 4
    assert pd.read_csv(path).iloc[-1]["frame"] == 2


class FullDisk:
    """Stands in for os.write on a disk that fills after `room` bytes."""

    def __init__(self, room: int):
        self.room = room

    def __call__(self, fd, data):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(len(data), self.room)
        self.room -= n
        return real_write(fd, data[:n])


real_write = os.write


def test_full_disk_is_one_line_error_and_leaves_only_whole_rows(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    log = MoodLog(path, CLASSES, flush_every_s=0.0)
    log.open()
    log.add(rows_for(result(0, 1), "cam", 2))
    whole = path.read_bytes()
    monkeypatch.setattr(os, "write", FullDisk(room=30))  # the next row fits only in part
    with pytest.raises(UserError, match="No space left on device.*1 rows written before are whole"):
        log.add(rows_for(result(1, 1), "cam", 2))
    monkeypatch.undo()
    log.close()  # no second error on the way out
    assert path.read_bytes() == whole  # the half row was taken back
    assert len(pd.read_csv(path)) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_log_on_dev_full_is_one_line_error():
    with pytest.raises(UserError, match="/dev/full: cannot write the mood log"):
        MoodLog(Path("/dev/full"), CLASSES).open()


def test_ids_and_boxes_are_integers_beside_no_face_rows(tmp_path):
    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 0), "cam", 2) + rows_for(result(1, 1), "cam", 2))
    face_row = path.read_text().splitlines()[2].split(",")
    assert face_row[4:9] == ["1", "0", "5", "40", "40"] and face_row[2] == "1"


def test_columns_follow_model_classes():
    assert columns_for(["a", "b", "c"])[-3:] == ["p_a", "p_b", "p_c"]


def test_opening_a_log_loads_pandas_in_the_background_so_the_first_write_does_not_freeze_the_view(tmp_path):
    """In a fresh interpreter (the monitor starts without pandas): opening the log starts the import on a
    thread, and pandas is loaded before any row is written; the first flush then finds it ready."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    code = (
        "import sys, time, threading\n"
        "from monitor.moodlog.writer import MoodLog\n"
        "assert 'pandas' not in sys.modules\n"
        f"log = MoodLog({str(tmp_path / 'log.csv')!r}, ('happy', 'sad'), flush_every_s=3600)\n"
        "log.open()\n"
        "names = [t.name for t in threading.enumerate()]\n"
        "for t in threading.enumerate():\n"
        "    if t.name == 'import-pandas': t.join(60)\n"
        "print(names, 'pandas' in sys.modules, log.rows_written)\n"
        "log.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("True 0"), proc.stdout
    assert "import-pandas" in proc.stdout
