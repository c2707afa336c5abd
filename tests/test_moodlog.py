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
from tests.helpers import assert_one_line_error, run_cli

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


FORMULAS = ['=HYPERLINK("http://evil.example","click me")', "+cmd|calc.mp4", "@SUM(1+1).mp4", "-2+3", "\tx", "\r=1", "'quoted", "''twice"]


def cells(path: Path) -> list[list[str]]:
    import csv

    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))[1:]


def test_text_cells_a_spreadsheet_would_run_are_quoted_and_read_back_as_written(tmp_path):
    """Sources and labels starting with = + - @ tab CR get a leading ' in the file (as does one starting with '),
    numbers stay numbers, the reader gives back the original text, and the API's rows are the original text."""
    from monitor.moodlog import reader

    classes = ("=cmd|' /C calc'!A0", "sad")
    path = tmp_path / "log.csv"
    with MoodLog(path, classes) as log:
        for i, name in enumerate([*FORMULAS, "plain", "cam -1"]):
            frame = Frame(np.zeros((10, 10, 3), np.uint8), i, -0.5, 1_790_000_000.0 + i)
            face = Face(Box(-3, 5, 40, 40), 1, Prediction((0.8, 0.2), classes), Prediction((0.6, 0.4), classes))
            rows = rows_for(FrameResult(frame, (face,)), name, 2)
            assert rows[0][1] == name and rows[0][9] == classes[0]  # the API's rows (EmotionMonitor.dataframe): as given
            log.add(rows)
    written = cells(path)
    assert [r[1] for r in written] == ["'" + s for s in FORMULAS] + ["plain", "cam -1"]
    assert {r[9] for r in written} == {"'" + classes[0]}
    assert all(r[3] == "-0.5" and r[5] == "-3" for r in written)  # numbers are not quoted, even negative ones
    table = reader.read_raw(path).table
    assert table.column("source").to_pylist() == [*FORMULAS, "plain", "cam -1"]
    assert set(table.column("label").to_pylist()) == {classes[0]}


def test_a_file_name_that_is_not_utf8_is_quoted_and_logged_as_its_own_bytes(tmp_path):
    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 1), os.fsdecode(b"=ph\xf6to.jpg"), 2))
    assert b",'=ph\xf6to.jpg,0," in path.read_bytes()


def test_reader_gives_one_name_to_a_source_logged_before_and_after_quoting(tmp_path):
    """A log begun by an older version holds =a as is; rows appended now hold '=a: both read as =a, one category."""
    from monitor.moodlog import reader

    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 1), "=a", 2))
    path.write_text(path.read_text().replace("'=a", "=a"))  # as the older version wrote it
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(1, 1), "=a", 2))
    assert [r[1] for r in cells(path)] == ["=a", "'=a"]
    source = reader.read_raw(path).table.column("source")
    assert source.to_pylist() == ["=a", "=a"]
    assert list(source.to_pandas().cat.categories) == ["=a"]


def test_a_log_saved_with_a_byte_order_mark_is_read_and_appended_to(tmp_path):
    """A spreadsheet's "CSV UTF-8" starts with a BOM (and ends lines with CRLF): read, appended to, still one BOM."""
    from monitor.moodlog import reader

    path = tmp_path / "log.csv"
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 1), "cam", 2))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert reader.read_raw(path).classes == list(CLASSES)
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(1, 1), "cam", 2))
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbftimestamp,") and data.count(b"\xef\xbb\xbf") == 1
    raw = reader.read_raw(path)
    assert raw.classes == list(CLASSES) and raw.table.column("frame").to_pylist() == [0, 1]


def test_a_byte_order_mark_alone_is_an_empty_log(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(b"\xef\xbb\xbf")
    with MoodLog(path, CLASSES) as log:
        log.add(rows_for(result(0, 1), "cam", 2))
    assert path.read_bytes().startswith(b"\xef\xbb\xbftimestamp,") and len(pd.read_csv(path)) == 1


MP4_HEAD = (
    b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free\x00\x02\x9e\x1bmdat\x00\x00\x02\xad\x06\x05\xff\xffx264"
)


def test_a_video_as_log_is_refused_in_one_line_without_its_bytes(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(MP4_HEAD * 100)
    with pytest.raises(UserError) as err, MoodLog(path, CLASSES):
        pass
    message = str(err.value)
    assert message.startswith(f"{path}: not a mood log") and ".csv" in message and "ftyp" not in message
    assert message.isprintable() and "\n" not in message
    assert path.read_bytes() == MP4_HEAD * 100


def test_other_columns_are_shown_short_and_escaped(tmp_path):
    """A text file's first line is shown as a short excerpt, characters that are not printable escaped."""
    path = tmp_path / "notes.csv"
    path.write_text("\u202etitle," + "x" * 500 + ",b\n1,2,3\n")  # a right-to-left override: the terminal would turn the line around
    with pytest.raises(UserError, match="other columns") as err, MoodLog(path, CLASSES):
        pass
    message = str(err.value)
    shown = message.split("other columns (")[1].split("); it was left")[0]
    assert message.isprintable() and shown.startswith("\\u202etitle, xxx") and shown.endswith("x...") and len(shown) <= 160
    path.write_text("\x1b]0;pwned\x07title,b\n")  # terminal escape sequences: not a CSV header
    with pytest.raises(UserError, match="notes.csv: not a mood log") as err, MoodLog(path, CLASSES):
        pass
    assert str(err.value).isprintable()


def test_the_tolerant_read_gives_back_the_text_as_written():
    from monitor.moodlog.reader import text_as_written

    df = pd.DataFrame({"source": ["'=a", "''b", "c", None], "label": ["'-x", "happy", None, None]}, dtype="string")
    assert text_as_written(df)[["source", "label"]].astype(object).where(df.notna(), None).values.tolist() == [
        ["=a", "-x"], ["'b", "happy"], ["c", None], [None, None],
    ]  # fmt: skip


def monitor_video(video, log: str, cwd: Path, *extra: str):
    return run_cli("monitor", "--source", str(video), "--no-display", "--log", log, "--max-frames", "4", *extra, cwd=cwd)


def report_json(log: str, cwd: Path) -> dict:
    import json

    proc = run_cli("monitor", "report", log, "--json", "--out", "r", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_videos_named_as_formulas_are_logged_as_text_and_reported_by_their_names(tmp_path, videos_dir):
    """python -m monitor with videos named =HYPERLINK(...) (no extension), +cmd|calc.mp4, @SUM(1+1).mp4: the log's
    source cells start with ' (a spreadsheet shows them as text), and the report names the videos as given."""
    names = [FORMULAS[0], "+cmd|calc.mp4", "@SUM(1+1).mp4"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)  # the first holds "http://": folders
        (tmp_path / name).write_bytes((videos_dir / "grin.mp4").read_bytes())
        proc = monitor_video(name, "mood.csv", tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert {r[1] for r in cells(tmp_path / "mood.csv")} == {"'" + n for n in names}
    assert [run["source"] for run in report_json("mood.csv", tmp_path)["runs"]] == names


@pytest.mark.slow
def test_a_log_saved_by_a_spreadsheet_with_a_bom_is_reported_and_appended_to(tmp_path, videos_dir):
    proc = monitor_video(videos_dir / "grin.mp4", "mood.csv", tmp_path)
    assert proc.returncode == 0, proc.stderr
    log = tmp_path / "mood.csv"
    log.write_bytes(b"\xef\xbb\xbf" + log.read_bytes().replace(b"\n", b"\r\n"))  # "CSV UTF-8" as a spreadsheet saves it
    assert report_json("mood.csv", tmp_path)["frames"] == 4
    proc = monitor_video(videos_dir / "grin.mp4", "mood.csv", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert log.read_bytes().count(b"\xef\xbb\xbf") == 1
    assert [run["frames"] for run in report_json("mood.csv", tmp_path)["runs"]] == [4, 4]


@pytest.mark.slow
def test_a_video_passed_as_log_is_one_line_naming_it_without_its_bytes(tmp_path, videos_dir):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes((videos_dir / "grin.mp4").read_bytes())
    proc = monitor_video(videos_dir / "grin.mp4", str(clip), tmp_path)
    assert_one_line_error(proc, "clip.mp4: not a mood log", ".csv")
    assert all(line.isprintable() for line in proc.stderr.splitlines())
    assert "ftyp" not in proc.stderr and clip.read_bytes() == (videos_dir / "grin.mp4").read_bytes()
