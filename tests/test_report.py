"""`python -m monitor report` on generated logs with known answers and on a log the monitor wrote."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.core.errors import UserError
from monitor.moodlog.schema import columns_for
from monitor.report.runs import read_logs
from monitor.report.selection import filter_rows, parse_time
from monitor.report.statistics import summarise
from monitor.report.text import format_summary
from tests.helpers import CLASSES, T0, assert_one_line_error, run_cli, write_log


def test_known_summary(tmp_path):
    log = write_log(tmp_path / "a.csv", [(60, "happy"), (30, "sad"), (30, None)])
    s = summarise(read_logs([log]).rows, "30s")
    assert s.frames == 1200 and s.frames_with_face == 900
    assert s.shares.round(6).to_dict() == {"happy": round(2 / 3, 6), "sad": round(1 / 3, 6)}
    assert abs(s.stretches.loc["happy", "seconds"] - 59.9) < 1e-6
    assert abs(s.stretches.loc["sad", "seconds"] - 29.9) < 1e-6
    assert s.stretches.loc["sad", "start"] == T0 + pd.Timedelta(seconds=60)
    b = s.buckets
    assert b["happy"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert b["sad"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert b["no face"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert s.faces.loc["1", "frames"] == 900


def test_gap_splits_stretch(tmp_path):
    log = write_log(tmp_path / "a.csv", [(10, "happy"), (5, None), (20, "happy")])
    s = summarise(read_logs([log]).rows)
    assert abs(s.stretches.loc["happy", "seconds"] - 19.9) < 1e-6


def test_partial_last_line_and_bad_timestamps_are_left_out_with_a_note(tmp_path):
    log = write_log(tmp_path / "a.csv", [(10, "happy")])
    text = log.read_text().splitlines()
    text[5] = "not-a-time" + text[5][text[5].index(",") :]
    log.write_text("\n".join(text) + "\n" + text[-1][:40])  # a crash mid-row
    logs = read_logs([log])
    assert len(logs.rows) == 99  # 100 whole rows, one with a bad timestamp; the cut-off row is not taken as "no face"
    assert logs.rows["face_id"].notna().all()
    assert any("1 of 101 rows malformed" in n for n in logs.notes)
    assert any("cut off" in n for n in logs.notes)


def test_several_logs_keep_their_real_days_and_mixed_classes_are_noted(tmp_path):
    a = write_log(tmp_path / "mon.csv", [(10, "happy")])
    b = write_log(tmp_path / "tue.csv", [(10, "sad")], start=T0 + pd.Timedelta(days=1))
    text = b.read_text().replace("p_happy,p_sad", "p_happy,p_unhappy")
    b.write_text(text)
    logs = read_logs([a, b])
    s = summarise(logs.rows, "1h")
    assert s.span[1] - s.span[0] > pd.Timedelta(hours=23)
    assert len(s.buckets) == 2  # nothing in between is invented
    assert s.frames == 200
    assert any("different classes" in n for n in logs.notes)


def test_face_and_time_filters(tmp_path):
    log = write_log(tmp_path / "a.csv", [(60, "happy"), (60, "sad")])
    rows = read_logs([log]).rows
    since = parse_time("2026-11-20T10:01:00+01:00", "--since")
    s = summarise(filter_rows(rows, since=since), "1min")
    assert s.frames == 600 and list(s.shares.index) == ["sad"]
    s = summarise(filter_rows(rows, face="1"), "1min")
    assert s.frames == 1200 and s.frames_with_face == 1200
    with pytest.raises(UserError, match="--face 2: no such face in the chosen rows; the faces there are 1"):
        filter_rows(rows, face="2")
    with pytest.raises(UserError, match="not a date"):
        parse_time("yesterday-ish", "--since")


@pytest.mark.parametrize(
    "content, needle",
    [
        ("", "empty file"),
        ("a,b\n1,2\n", "not a mood log"),
        ("timestamp,source,frame,stream_time_s,face_id,x,y,w,h,label,confidence\n", "holds only its header: no rows were logged"),
    ],
)
def test_bad_logs(tmp_path, content, needle):
    log = tmp_path / "bad.csv"
    log.write_text(content)
    proc = run_cli("monitor", "report", str(log))
    assert_one_line_error(proc, "bad.csv", needle)


def test_one_bad_log_among_good_ones_is_reported_not_fatal(tmp_path):
    good = write_log(tmp_path / "good.csv", [(10, "happy")])
    (tmp_path / "bad.csv").write_text("")
    proc = run_cli("monitor", "report", str(good), str(tmp_path / "bad.csv"), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert f"note: skipped {tmp_path / 'bad.csv'}: empty file" in proc.stdout and "frames      100" in proc.stdout
    assert "error:" not in proc.stdout + proc.stderr


def test_bad_every(tmp_path):
    good = write_log(tmp_path / "good.csv", [(1, "happy")])
    assert_one_line_error(run_cli("monitor", "report", str(good), "--every", "often"), "--every")


@pytest.mark.slow
def test_report_on_a_log_written_by_the_monitor(tmp_path, videos_dir):
    log = tmp_path / "mood.csv"
    proc = run_cli("monitor", "--source", str(videos_dir / "face_then_no_face.mov"), "--no-display", "--log", str(log), "--stride", "2")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "report"
    proc = run_cli("monitor", "report", str(log), "--out", str(out), "--every", "1s")
    assert proc.returncode == 0, proc.stderr
    for name in ("timeline.svg", "faces.svg", "confidence.svg", "report.html"):
        assert (out / name).stat().st_size > 1000, name
    html = (out / "report.html").read_text()
    assert html.count("<svg ") == 3  # the pictures inline: self-contained, opens offline
    df = pd.read_csv(log)
    frames, with_face = df.frame.nunique(), df.dropna(subset=["face_id"]).frame.nunique()
    assert f"frames      {frames}, with a face {with_face}" in proc.stdout
    assert 0 < with_face < frames  # the face goes away in this video


def test_several_sources_and_sessions_in_one_log(tmp_path):
    """Frame numbers restart per source and per session: frames are told apart by source and time too."""
    a = write_log(tmp_path / "a.csv", [(5, "happy")], source="cam")
    b = write_log(tmp_path / "b.csv", [(5, None)], source="clip.mp4", start=T0 + pd.Timedelta(seconds=5))
    c = write_log(tmp_path / "c.csv", [(5, "sad")], source="cam", start=T0 + pd.Timedelta(seconds=10))
    both = tmp_path / "both.csv"
    both.write_text(a.read_text() + "".join(p.read_text().split("\n", 1)[1] for p in (b, c)))  # one appended log
    s = summarise(read_logs([both]).rows, "5s")
    assert s.frames == 150 and s.frames_with_face == 100
    # the camera's two sessions (frame numbers start over) are two runs
    assert list(s.sources.index) == ["cam (run 1)", "clip.mp4", "cam (run 2)"]
    assert s.buckets.loc["cam (run 1)", "no face"].tolist() == [0.0] and s.buckets.loc["cam (run 2)", "no face"].tolist() == [0.0]
    assert s.buckets.loc["clip.mp4", "no face"].tolist() == [1.0]
    assert s.shares.to_dict() == {"happy": 0.5, "sad": 0.5}
    assert s.sources.loc["clip.mp4", "kind"] == "video"


def test_a_video_is_measured_in_its_own_time_not_processing_time(tmp_path):
    """An 8 s clip processed in 2 s spans 8 s, and its stretches are in video seconds."""
    log = tmp_path / "clip.csv"
    rows = []
    for i in range(80):  # 80 frames at 10 fps, logged within 2 s of processing
        ts = (T0 + pd.Timedelta(seconds=i / 40)).isoformat(timespec="milliseconds")
        label = "happy" if i < 60 else "sad"
        rows.append(
            [ts, "clip.mp4", i, i / 10, 1, 10, 10, 50, 50, label, 0.9, 0.9 if label == "happy" else 0.1, 0.1 if label == "happy" else 0.9]
        )
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(log, index=False)
    s = summarise(read_logs([log]).rows)
    assert abs((s.span[1] - s.span[0]).total_seconds() - 7.9) < 1e-6
    assert abs(s.stretches.loc["happy", "seconds"] - 5.9) < 1e-6 and abs(s.stretches.loc["sad", "at_s"] - 6.0) < 1e-6
    assert s.every == "1s" and len(s.buckets) == 8  # chosen from the span: not one "1 min" bar
    assert s.sources.loc["clip.mp4", "kind"] == "video" and abs(s.sources.loc["clip.mp4", "seconds"] - 7.9) < 1e-6
    text = format_summary(s, [])
    assert "clip.mp4 at 6.0 s" in text and "clip.mp4 (video, 7.9 s, 80 frames)" in text


def test_times_are_shown_in_the_logs_own_offset(tmp_path):
    log = write_log(tmp_path / "a.csv", [(10, "happy")])  # written at +01:00
    s = summarise(read_logs([log]).rows)
    text = format_summary(s, [])
    assert "span        2026-11-20 10:00:00 .. 2026-11-20 10:00:09 UTC+01:00" in text


def test_since_without_offset_is_the_reports_clock_and_with_offset_is_exact(tmp_path):
    assert parse_time("2026-11-20T10:00+03:00", "--since") == pd.Timestamp("2026-11-20T07:00:00Z")
    import datetime

    india = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    assert parse_time("2026-11-26 10:00:05", "--since", india) == pd.Timestamp("2026-11-26T04:30:05Z")
    # a log written at +05:30 read on a machine in another zone: the time the report prints is the time --since means
    log = write_log(tmp_path / "a.csv", [(10, "happy")], start=pd.Timestamp("2026-11-26T10:00:00+05:30"))
    whole = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r0"), env={"TZ": "Europe/Paris"})
    assert "2026-11-26 10:00:00 .. 2026-11-26 10:00:09 UTC+05:30" in whole.stdout, whole.stdout + whole.stderr
    proc = run_cli("monitor", "report", str(log), "--since", "2026-11-26 10:00:05", "--out", str(tmp_path / "r"), env={"TZ": "Europe/Paris"})
    assert proc.returncode == 0, proc.stderr
    assert "frames      50," in proc.stdout and "2026-11-26 10:00:05 .. 2026-11-26 10:00:09 UTC+05:30" in proc.stdout


def test_a_log_where_no_face_was_ever_seen_is_reported(tmp_path):
    log = write_log(tmp_path / "none.csv", [(5, None)])
    for extra in ([], ["--json"]):
        proc = run_cli("monitor", "report", str(log), *extra, "--out", str(tmp_path / "r"))
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    text = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r")).stdout
    assert "with a face 0 (0.0 %)" in text and "face time   no face was seen in any frame" in text
    import json

    data = json.loads(run_cli("monitor", "report", str(log), "--json", "--out", str(tmp_path / "r")).stdout)
    assert data["frames"] == 50 and data["frames_with_face"] == 0 and data["runs"][0]["faces"] == 0
    write_log(tmp_path / "dir" / "x.csv", [(2, None)]) if (tmp_path / "dir").mkdir() is None else None
    folder = run_cli("monitor", "report", str(tmp_path / "dir"), "--out", str(tmp_path / "r2"))
    assert folder.returncode == 0 and "Traceback" not in folder.stderr, folder.stderr


def test_a_glued_row_after_a_crash_is_skipped_and_counted_not_fatal(tmp_path):
    log = write_log(tmp_path / "a.csv", [(10, "happy")])
    text = log.read_text()
    cut = text[: text.rindex("happy") + 2]  # killed mid-row
    glued = text.splitlines()[1]  # an old append glued the next row onto the cut one
    log.write_text(cut + "0" + glued + "\n" + text.splitlines()[2] + "\n")
    logs = read_logs([log])
    assert len(logs.rows) == 100
    assert any("malformed" in n for n in logs.notes)


def test_report_on_a_binary_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "photo.csv"
    bad.write_bytes(bytes(range(256)) * 10)
    assert_one_line_error(run_cli("monitor", "report", str(bad)), "photo.csv", "not a mood log")


def test_many_picture_sources_are_summarised(tmp_path):
    log = tmp_path / "photos.csv"
    rows = [
        [(T0 + pd.Timedelta(minutes=i)).isoformat(timespec="milliseconds"), f"p{i:03d}.jpg", 0, 0.0, 1, 1, 1, 9, 9, "happy", 0.9, 0.9, 0.1]
        for i in range(40)
    ]
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(log, index=False)
    s = summarise(read_logs([log]).rows)
    line = [x for x in format_summary(s, []).splitlines() if x.startswith("sources")][0]
    assert line.startswith("sources     40 pictures: p000.jpg, p001.jpg") and "p039.jpg" not in line


def test_three_classes_and_an_arbitrary_class_name_end_to_end(tmp_path):
    """The log's columns follow the model's classes; the report summarises and draws every one of them."""
    from monitor.core.types import Box, Face, Frame, FrameResult, Prediction
    from monitor.moodlog.schema import rows_for
    from monitor.moodlog.writer import MoodLog

    classes = ("happy", "neutral", "sad", "bored")
    log = tmp_path / "three.csv"
    with MoodLog(log, classes) as writer:
        for i in range(40):
            p = [0.05, 0.05, 0.05, 0.05]
            p[[1, 1, 0, 3][i // 10]] = 0.85
            face = Face(Box(1, 1, 9, 9), 1, Prediction(tuple(p), classes), Prediction(tuple(p), classes))
            writer.add(rows_for(FrameResult(Frame(np.zeros((2, 2, 3), np.uint8), i, i / 10, 1_790_000_000 + i / 10), (face,)), "0", 4))
    header = log.read_text().splitlines()[0]
    assert header.endswith("p_happy,p_neutral,p_sad,p_bored")
    s = summarise(read_logs([log]).rows)
    assert s.shares.round(3).to_dict() == {"happy": 0.25, "neutral": 0.5, "bored": 0.25}
    assert abs(s.stretches.loc["neutral", "seconds"] - 1.9) < 1e-6
    proc = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "face time   happy 25.0 %, neutral 50.0 %, bored 25.0 %" in proc.stdout
    assert (tmp_path / "r" / "timeline.svg").read_text().count("<title>bored</title>") == 1  # the fourth class is drawn too


@pytest.mark.slow
def test_the_same_video_run_twice_into_one_log_is_two_runs(tmp_path, videos_dir):
    import json

    log = tmp_path / "twice.csv"
    for _ in range(2):
        proc = run_cli("monitor", "--source", str(videos_dir / "single_face.mp4"), "--no-display", "--log", str(log))
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("monitor", "report", str(log), "--json", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert [run["frames"] for run in r["runs"]] == [72, 72]
    video = str(videos_dir / "single_face.mp4")  # the source as given
    assert [run["run"] for run in r["runs"]] == [f"{video} (run 1)", f"{video} (run 2)"]
    assert all(abs(run["seconds"] - 71 / 30) < 0.05 and run["source"] == video for run in r["runs"])
    assert set(r["share"]) <= {"happy", "neutral", "sad"} and abs(sum(r["share"].values()) - 1) < 1e-3
    text = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r")).stdout
    import re

    mood = text.split("mood per")[1].split("per face:")[0]
    buckets = re.findall(r"\(run \d\) at \d+ s", mood)
    assert len(buckets) == len(set(buckets)) >= 4  # each run's own seconds: no bucket label twice
    assert "face 1" not in text.split("per face:")[1].split()[:3]  # faces are named by run
    assert f"{video} (run 1)#1" in text and f"{video} (run 2)#1" in text


def test_since_and_until_cut_on_the_clock_the_report_shows(tmp_path):
    """A clip processed in 2 s spans 8 s of video: times picked from the printed span give that slice."""
    log = tmp_path / "clip.csv"
    rows = []
    for i in range(80):  # 80 frames at 10 fps, logged within 2 s of processing
        ts = (T0 + pd.Timedelta(seconds=i / 40)).isoformat(timespec="milliseconds")
        rows.append([ts, "clip.mp4", i, i / 10, 1, 10, 10, 50, 50, "happy", 0.9, 0.9, 0.1])
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(log, index=False)
    logs = read_logs([log])
    text = format_summary(summarise(logs.rows, None, logs.runs), [])
    assert "span        2026-11-20 10:00:00 .. 2026-11-20 10:00:07 UTC+01:00, 7.9 s (videos in their own time)" in text
    since, until = parse_time("2026-11-20T10:00:04+01:00", "--since"), parse_time("2026-11-20T10:00:05.95+01:00", "--until")
    s = summarise(filter_rows(logs.rows, since, until), None, logs.runs)
    assert s.frames == 20  # video seconds 4.0 .. 5.9


def test_json_folder_of_logs_and_a_closed_pipe(tmp_path):
    import json
    import subprocess
    import sys

    from tests.helpers import ROOT

    folder = tmp_path / "logs"
    folder.mkdir()
    write_log(folder / "mood-a.csv", [(10, "happy")], source="a.mp4")
    write_log(folder / "mood-b.csv", [(5, "sad"), (5, None)], source="b.mp4", start=T0 + pd.Timedelta(minutes=1))
    (folder / ".emotion-monitor.lock").write_text("")
    proc = run_cli("monitor", "report", str(folder), "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert [(x["source"], x["frames"], x["face_frames"], x["faces"]) for x in r["runs"]] == [("a.mp4", 100, 100, 1), ("b.mp4", 100, 50, 1)]
    assert r["runs"][0]["start"].startswith("2026-11-20T10:00:00.000+01:00") and r["runs"][1]["share"] == {"happy": 0.0, "sad": 1.0}
    assert r["share"] == {"happy": round(100 / 150, 4), "sad": round(50 / 150, 4)}
    assert (folder / "report" / "report.html").is_file()
    out = tmp_path / "piped"
    shell = f"{sys.executable} -m monitor report {folder / 'mood-a.csv'} --out {out} | head -1"
    piped = subprocess.run(["bash", "-c", f"set -o pipefail; {shell}"], cwd=ROOT, capture_output=True, text=True)
    assert piped.returncode == 0 and "Traceback" not in piped.stderr and piped.stdout.startswith("span"), piped.stderr
    assert (out / "report.html").stat().st_size > 1000  # written before the pipe closed
    assert_one_line_error(run_cli("monitor", "report", str(tmp_path / "piped")), "no mood log")


def test_a_long_camera_log_reads_like_a_person_would_say_it(tmp_path):
    log = write_log(tmp_path / "cam.csv", [(125, "happy"), (30, "sad"), (12.5, None)], source="0")
    logs = read_logs([log])
    s = summarise(logs.rows, "1s", logs.runs)
    text = format_summary(s, [])
    assert "2 min 47 s" in text and "videos in their own time" not in text and "0 (camera, 2 min 47 s, 1675 frames)" in text
    assert [line.split()[:4] for line in text.splitlines() if line.startswith("  happy ")] == [["happy", "2", "min", "05"]]
    assert "1550  2 min 35 s" in text  # the per-face table too
    s = summarise(logs.rows, "1min", logs.runs)
    widths = s.buckets["width_s"].tolist()
    assert widths[:-1] == [60.0, 60.0] and 47 < widths[-1] < 48.5  # the last minute is only partly recorded
    proc = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r"), "--every", "1s")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "r" / "report.html").read_text()
    assert "every one in" not in page and page.count("<thead><tr>") == page.count("<table>") == 3  # one header row a table
    assert "2 min 47 s" in page


def test_every_is_capped_with_a_note(tmp_path):
    log = write_log(tmp_path / "cam.csv", [(2500, "happy")], fps=1, source="0")
    logs = read_logs([log])
    s = summarise(logs.rows, "1s", logs.runs)
    assert len(s.buckets) <= 2000 and s.every == "2s"
    assert any("--every 1s would draw 2,500 bars; used 2s" in n for n in s.notes)


def test_photo_logs_are_shown_as_pictures(tmp_path):
    log = tmp_path / "photos.csv"
    rows = []
    for i in range(6):
        ts = (T0 + pd.Timedelta(days=i)).isoformat(timespec="milliseconds")  # file times, days apart
        if i == 5:
            rows.append([ts, f"p{i}.jpg", 0, 0.0] + [None] * 9)
        else:
            label = "happy" if i < 3 else "sad"
            rows.append([ts, f"p{i}.jpg", 0, 0.0, 1, 1, 1, 9, 9, label, 0.9, 0.9 if label == "happy" else 0.1, 0.1 if label == "happy" else 0.9])
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(log, index=False)
    proc = run_cli("monitor", "report", str(log), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "pictures    6, with a face 5; faces per label: happy 3, sad 2" in proc.stdout
    assert "p5.jpg" in proc.stdout and "(no face)" in proc.stdout
    assert "longest stretch" not in proc.stdout and "span" not in proc.stdout and "mood per" not in proc.stdout
    assert not (tmp_path / "r" / "timeline.svg").exists() and (tmp_path / "r" / "pictures.svg").stat().st_size > 1000


def test_two_faces_in_a_frame_share_it_and_keep_their_own_numbers(tmp_path):
    """Face 1 happy for 10 s, face 2 sad beside it for the first 5 s: a frame's faces together count as one frame."""
    rows = []
    for frame in range(100):
        ts = (T0 + pd.Timedelta(seconds=frame / 10)).isoformat(timespec="milliseconds")
        rows.append([ts, "cam", frame, frame / 10, 1, 10, 10, 50, 50, "happy", 0.9, 0.9, 0.1])
        if frame < 50:
            rows.append([ts, "cam", frame, frame / 10, 2, 90, 10, 50, 50, "sad", 0.8, 0.2, 0.8])
    log = tmp_path / "two.csv"
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(log, index=False)
    s = summarise(read_logs([log]).rows, "1min")
    assert s.frames == 100 and s.frames_with_face == 100
    assert s.buckets["happy"].tolist() == [0.75] and s.buckets["sad"].tolist() == [0.25] and s.buckets["no face"].tolist() == [0.0]
    assert s.faces.loc["1", "frames"] == 100 and s.faces.loc["2", "frames"] == 50
    assert s.faces.loc["1", "happy"] == 1.0 and s.faces.loc["2", "sad"] == 1.0
    assert abs(s.faces.loc["2", "mean confidence"] - 0.8) < 1e-6 and abs(s.faces.loc["2", "seconds"] - 4.9) < 1e-6
    assert s.stretches.loc["happy", "face"] == "1" and abs(s.stretches.loc["happy", "seconds"] - 9.9) < 1e-6
    assert s.stretches.loc["sad", "face"] == "2" and abs(s.stretches.loc["sad", "seconds"] - 4.9) < 1e-6
    assert s.sources["faces"].tolist() == [2] and s.sources["face_frames"].tolist() == [150]


def test_a_log_across_the_end_of_summer_time_keeps_each_rows_own_offset(tmp_path):
    """02:59:50+02:00 is followed by 02:00:00+01:00: rows stamped 02:15+01:00 are shown as 02:15, not 03:15."""
    rows, start, change = [], pd.Timestamp("2026-10-25T00:50:00Z"), pd.Timestamp("2026-10-25T01:00:00Z")
    for i in range(0, 30 * 60, 10):
        t = start + pd.Timedelta(seconds=i)
        ts = t.tz_convert("+02:00" if t < change else "+01:00").isoformat(timespec="milliseconds")
        rows.append([ts, "0", i // 10, i, 1, 10, 10, 50, 50, "happy", 0.9, 0.9, 0.1])
    log = tmp_path / "dst.csv"
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(log, index=False)
    proc = run_cli("monitor", "report", str(log), "--every", "5min", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "span        2026-10-25 02:50:00 .. 2026-10-25 02:19:50 UTC+02:00, then UTC+01:00" in proc.stdout
    assert "  2026-10-25 02:15:00  1.000" in proc.stdout and "03:15" not in proc.stdout
    # a time the clock showed twice means its first showing; with an offset, exactly that moment
    late = run_cli("monitor", "report", str(log), "--since", "2026-10-25 02:15:00+01:00", "--out", str(tmp_path / "r2"))
    assert "frames      30," in late.stdout and "span        2026-10-25 02:15:00 .. 2026-10-25 02:19:50 UTC+01:00" in late.stdout
    early = run_cli("monitor", "report", str(log), "--since", "2026-10-25 02:55:00", "--out", str(tmp_path / "r3"))
    assert "frames      150," in early.stdout, early.stdout
    import datetime

    from monitor.moodlog.utc_offsets import UtcOffsets

    plus2, plus1 = (datetime.timezone(datetime.timedelta(hours=h)) for h in (2, 1))
    clock = UtcOffsets(plus2, ((change.value, plus1),))
    assert clock.utc_ns(pd.Timestamp("2026-10-25 02:15").value) == pd.Timestamp("2026-10-25T00:15Z").value
    assert clock.utc_ns(pd.Timestamp("2026-10-25 03:30").value) == pd.Timestamp("2026-10-25T02:30Z").value
