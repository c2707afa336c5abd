"""`report` as a command: its folder of files, its time range, its default logs and its name when installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from monitor.core.errors import UserError
from monitor.report import command as report
from monitor.report.runs import read_logs
from monitor.report.selection import filter_rows, parse_time
from monitor.report.statistics import summarise
from tests.helpers import assert_one_line_error, run_cli, write_labels, write_log


def test_a_reused_out_folder_holds_only_this_reports_files(tmp_path):
    """Issue 36.6: a photo report into a video report's folder leaves no old timeline.svg or faces.svg; other files stay."""
    out = tmp_path / "r"
    video = write_labels(tmp_path / "video.csv", ["sad"] * 20)
    assert report.main([str(video), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["confidence.svg", "faces.svg", "report.html", "timeline.svg"]
    (out / "mine.svg").write_text("not the report's")
    photos = write_labels(tmp_path / "photos.csv", ["happy", None], source="p{}.jpg")
    assert report.main([str(photos), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["confidence.svg", "mine.svg", "pictures.svg", "report.html"]  # no temporary left


def test_since_after_until_says_the_range_is_reversed(tmp_path):
    """Issue 36.15: not the generic 'no log rows'."""
    log = write_log(tmp_path / "a.csv", [(10, "happy")])
    proc = run_cli("monitor", "report", str(log), "--since", "2026-11-21", "--until", "2026-11-20", "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "--since 2026-11-21 is after --until 2026-11-20: the range is reversed")
    whole_day = run_cli("monitor", "report", str(log), "--since", "2026-11-20", "--until", "2026-11-20", "--out", str(tmp_path / "r"))
    assert "frames      100," in whole_day.stdout, whole_day.stderr


def test_report_without_a_log_reads_the_default_log_folder(tmp_path, monkeypatch, capsys):
    """Issue 36.16: `report` alone reads logs/, where the monitor logs by default; without it, one clear error."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"^logs/: no such folder \(where python -m monitor logs by default\); pass the mood logs"):
        report.main([])
    (tmp_path / "logs").mkdir()
    with pytest.raises(UserError, match=r"^logs: no mood log \(\*\.csv\) in this folder"):
        report.main([])
    write_log(tmp_path / "logs" / "mood-1.csv", [(10, "happy")])
    write_log(tmp_path / "logs" / "mood-2.csv", [(5, "sad")], source="clip.mp4")
    assert report.main([]) == 0
    assert "frames      150, with a face 150" in capsys.readouterr().out
    assert (tmp_path / "logs" / "report" / "report.html").is_file()


def test_messages_name_the_installed_command(tmp_path, monkeypatch):
    """Issue 36.16: run as `emotion-monitor`, usage and messages say so, not `python -m monitor`."""
    from monitor.apps.options import parser as main_parser
    from monitor.moodlog.reader import read_raw

    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/emotion-monitor", "report"])
    assert report.parser().prog == "emotion-monitor report"
    with pytest.raises(UserError, match="pass the CSV written by `emotion-monitor`"):
        read_raw(tmp_path / "missing.csv")
    assert "emotion-monitor report LOG.csv" in main_parser().format_help() and "python -m" not in main_parser().format_help()  # nor `python -m train`
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="where emotion-monitor logs by default"):
        report.main([])
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/emotion-train"])  # the monitor's messages in a train run
    assert report.parser().prog == "emotion-monitor report"


def test_until_a_date_alone_is_the_whole_day(tmp_path, capsys):
    """Issue 36.15: `--until 2026-11-20` keeps the evening of the 20th; `--since` of a date starts at its midnight."""
    log = write_log(tmp_path / "a.csv", [(10, "happy")], start=pd.Timestamp("2026-11-20T23:59:55+01:00"))
    assert report.main([str(log), "--until", "2026-11-20", "--out", str(tmp_path / "r")]) == 0
    assert "frames      50, with a face 50" in capsys.readouterr().out
    logs = read_logs([log])
    until = parse_time("2026-11-20", "--until", logs.offset, end=True)
    assert until == pd.Timestamp("2026-11-20T23:59:59.999999+01:00")
    assert summarise(filter_rows(logs.rows, until=until)).frames == 50  # the 20th's last 5 s, not none of it
    assert parse_time("2026-11-20", "--since", logs.offset) == pd.Timestamp("2026-11-20T00:00+01:00")
    assert parse_time("2026-11-20T12:00", "--until", logs.offset, end=True) == pd.Timestamp("2026-11-20T12:00+01:00")  # a time: as given


def test_a_skipped_log_whose_name_is_not_utf8_does_not_stop_the_page(tmp_path):
    """Its name, in a note, is written into report.html as \\udcff (it crashed the page's write with UnicodeEncodeError)."""
    import os

    bad = Path(os.fsdecode(bytes(tmp_path / "bad") + b"\xff.csv"))
    bad.write_text("")
    assert report.main([str(write_log(tmp_path / "a.csv", [(1, "happy")])), str(bad), "--out", str(tmp_path / "r")]) == 0
    assert "bad\\udcff.csv: empty file" in (tmp_path / "r" / "report.html").read_text()
