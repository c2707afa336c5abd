"""The report's pictures: SVG written from plain data, and a report process that stays light."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor.report import charts
from tests.helpers import ROOT, T0, write_labels, write_log

SVG = "{http://www.w3.org/2000/svg}"
COLOURS = {"happy": "#ffcc00", "sad": "#0077ff"}


def rectangles(path_data: str) -> list[tuple[float, float, float, float]]:
    """The bars of one path (M x0,y0 H x1 V y1 H x0 Z each) as (x0, y0, x1, y1)."""
    pattern = r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+Z"
    return [tuple(map(float, m)) for m in re.findall(pattern, path_data)]


def paths_by_label(svg: str) -> dict[str, str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return {p.find(f"{SVG}title").text: p.get("d") for p in root.iter(f"{SVG}path")}


def test_timeline_bars_sit_where_their_seconds_and_shares_say():
    """Two 1 s buckets on a 0-2 s axis: each bar half the plot wide, stacked to its shares; an empty share draws nothing."""
    row = charts.TimelineRow(
        "seconds into clip.mp4",
        np.array([0.0, 1.0]),
        np.array([1.0, 1.0]),
        {"happy": np.array([0.75, 0.25]), "sad": np.array([0.25, 0.25]), charts.NO_FACE: np.array([0.0, 0.5])},
    )
    svg = charts.render(charts.Timeline(Path("timeline.svg"), "Mood per 1s", [row], COLOURS))
    bars = {label: rectangles(d) for label, d in paths_by_label(svg).items()}
    assert [len(bars[k]) for k in ("happy", "sad", charts.NO_FACE)] == [2, 2, 1]
    (hx0, hy0, hx1, hy1), _ = bars["happy"]
    (sx0, sy0, sx1, sy1), (tx0, ty0, tx1, ty1) = bars["sad"]
    height = (hy0 - hy1) / 0.75  # the plot's height, from the happy bar
    assert (sx0, sx1) == (hx0, hx1) and tx0 == pytest.approx(hx1, abs=0.11)  # the second second starts where the first ends
    assert tx1 - tx0 == pytest.approx(hx1 - hx0, abs=0.2)  # as wide
    assert sy0 == pytest.approx(hy1, abs=0.11)  # sad stacked on happy
    assert sy0 - sy1 == pytest.approx(0.25 * height, abs=0.3) and ty0 - ty1 == pytest.approx(0.25 * height, abs=0.3)
    ((nx0, ny0, nx1, ny1),) = bars[charts.NO_FACE]  # the empty first share drew nothing
    assert nx0 == tx0 and ny0 == pytest.approx(ty1, abs=0.11) and ny0 - ny1 == pytest.approx(0.5 * height, abs=0.3)
    assert ny1 == pytest.approx(hy1 - 0.25 * height, abs=0.3)  # the second bucket filled to the top
    assert 'fill="#ffcc00"' in svg and 'fill="url(#hatch-timeline)"' in svg and 'id="hatch-timeline"' in svg
    assert ">seconds into clip.mp4<" in svg and ">Mood per 1s<" in svg


def test_clock_timelines_get_clock_ticks():
    start = np.datetime64("2026-11-20T08:00:00", "ns")
    x = start + np.arange(60) * np.timedelta64(10, "m")
    row = charts.TimelineRow("time (UTC+01:00), camera 0", x, np.full(60, 600.0), {"happy": np.full(60, 1.0)})
    svg = charts.render(charts.Timeline(Path("t.svg"), "Mood per 10min", [row], COLOURS))
    assert re.findall(r">(\d\d:\d\d)<", svg) == ["08:00", "10:00", "12:00", "14:00", "16:00", "18:00"]


def test_tick_steps_are_round():
    assert charts.nice_ticks(0, 1, 6)[1] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert charts.nice_ticks(0, 9, 11)[1] == [str(i) for i in range(10)]
    assert charts.nice_ticks(0, 840_000, 6, whole=True)[1] == ["0", "200,000", "400,000", "600,000", "800,000"]
    assert charts.nice_ticks(0, 3.4, 6, whole=True)[1] == ["0", "1", "2", "3"]  # counts: no half faces
    assert charts.time_ticks(0, 40)[1] == ["00:00:00", "00:00:10", "00:00:20", "00:00:30", "00:00:40"]
    assert charts.time_ticks(0, 3 * 86400)[1][:3] == ["01-01 00:00", "01-01 12:00", "01-02 00:00"]


def test_names_are_escaped_and_each_picture_has_its_own_hatch(tmp_path):
    bars = charts.FaceBars(tmp_path / "faces.svg", ["<b>&co#1"], {"happy": np.array([0.5]), "sad": np.array([0.5])}, ["9 frames"], COLOURS)
    text = charts.write(bars)
    assert (tmp_path / "faces.svg").read_text() == text
    ET.fromstring(text)  # parses: the name did not break the XML
    assert "&lt;b&gt;&amp;co#1" in text and 'id="hatch-faces"' in text


def test_histogram_and_counts_draw_every_label():
    hist = charts.Histogram(Path("confidence.svg"), np.linspace(0, 1, 41), {"happy": np.arange(40), "sad": np.arange(40)[::-1]}, COLOURS)
    root = ET.fromstring(charts.render(hist))
    fills = [p.get("fill") for p in root.iter(f"{SVG}polygon")]
    assert fills == ["#ffcc00", "#0077ff"]
    counts = charts.LabelCounts(Path("pictures.svg"), "Labels of the faces in 5 pictures", {"happy": 3, "sad": 2}, COLOURS)
    svg = charts.render(counts)
    widths = {label: rectangles(d)[0][2] - rectangles(d)[0][0] for label, d in paths_by_label(svg).items()}
    assert widths["happy"] == pytest.approx(1.5 * widths["sad"], rel=0.01)
    assert ">3<" in svg and ">2<" in svg


def test_the_report_loads_neither_matplotlib_nor_opencv_and_reads_before_pandas(tmp_path):
    """The pictures need no plotting library; the log is read by Arrow while a thread imports pandas."""
    log = write_log(tmp_path / "a.csv", [(20, "happy"), (10, None), (20, "sad")])
    code = (
        "import sys; from pathlib import Path; from monitor.moodlog import reader as logfiles\n"
        f"read = logfiles.read_all([Path({str(log)!r})])\n"
        "print('pandas while reading:', 'pandas' in sys.modules)\n"
        "from monitor.__main__ import main\n"
        f"assert main(['report', {str(log)!r}, '--out', {str(tmp_path / 'r')!r}]) == 0\n"
        "print('loaded:', sorted(m for m in ('cv2', 'matplotlib', 'tensorflow') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pandas while reading: False" in proc.stdout and "loaded: []" in proc.stdout
    for name in ("timeline.svg", "faces.svg", "confidence.svg"):
        ET.parse(tmp_path / "r" / name)
    page = (tmp_path / "r" / "report.html").read_text()
    assert page.count("<svg ") == 3 and len(set(re.findall(r'id="(hatch-[^"]+)"', page))) == 3  # inline, no id twice
    assert page.index("id='timeline'") < page.index("id='faces'") < page.index("id='confidence'")  # the page's order


def test_a_report_folder_it_cannot_write_to_is_a_one_line_error(tmp_path, monkeypatch):
    """Checked before anything is summarised (as root every folder is writable, so the check is made to say no)."""
    from monitor.core.errors import UserError
    from monitor.report import command as report

    log = write_log(tmp_path / "a.csv", [(5, "happy")])
    monkeypatch.setattr(report.os, "access", lambda path, mode: False)
    with pytest.raises(UserError, match="ro: the report folder is not writable; pass a writable --out"):
        report.main([str(log), "--out", str(tmp_path / "ro")])


def test_the_faces_picture_counts_frames_as_a_person_would(tmp_path):
    from monitor.report.page import faces_chart
    from monitor.report.runs import read_logs
    from monitor.report.statistics import summarise

    logs = read_logs([write_log(tmp_path / "a.csv", [(0.1, "happy"), (1, None)])])  # a face seen in one frame
    chart = faces_chart(summarise(logs.rows, None, logs.runs), tmp_path / "faces.svg", COLOURS)
    assert chart.notes == ["1 frame, 0.0 s"]


def report_of(tmp_path, *logs, every=None):
    """The report's summary, text and pictures (as written by `report`), in-process."""
    from monitor.report import command

    out = tmp_path / "r"
    assert command.main([*map(str, logs), "--out", str(out), *(["--every", every] if every else [])]) == 0
    return out


def texts(svg_path) -> list[str]:
    root = ET.parse(svg_path).getroot()  # valid XML, or this raises
    return [t.text for t in root.iter(f"{SVG}text")]


def test_a_control_character_in_a_source_name_is_escaped_everywhere(tmp_path, capsys):
    """Issue 36.8: ESC made timeline.svg invalid XML and reached the terminal raw; a newline broke the text's tables."""
    name = "a\x1b[31mb\nc.mp4"
    out = report_of(tmp_path, write_labels(tmp_path / "esc.csv", ["happy"] * 30 + ["sad"] * 20, source=name), every="1s")
    for picture in ("timeline.svg", "faces.svg", "confidence.svg"):
        assert not any("\x1b" in (t or "") for t in texts(out / picture)), picture
    assert "seconds into a\\x1b[31mb\\nc.mp4" in texts(out / "timeline.svg")
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x1b" not in (out / "report.html").read_text()
    mood = text.split("mood per 1s (share of frames):\n")[1].split("\nper face:")[0].splitlines()
    assert len(mood) == 6 and mood[1] == "  a\\x1b[31mb\\nc.mp4 at 0 s  1.000  0.000    0.000      10"  # a header, 5 one-line rows
    from monitor.core.text import printable  # the helper other printers use

    assert printable("a\x1b[31mb\nc\u202e.mp4") == "a\\x1b[31mb\\nc\\u202e.mp4" and printable("Café 😀.mp4") == "Café 😀.mp4"


def test_pictures_beside_a_video_are_drawn_with_their_own_counts(tmp_path):
    """Issue 36.2: the pictures' chart counts the faces on pictures, not the video's shares times the picture faces."""
    photos = write_labels(tmp_path / "photos.csv", ["happy", "neutral", "sad"], source="p{}.jpg")
    out = report_of(tmp_path, photos, write_labels(tmp_path / "video.csv", ["sad"] * 70 + [None] * 10))
    assert texts(out / "pictures.svg")[1:7] == ["happy", "1", "neutral", "1", "sad", "1"]


def test_the_timeline_draws_runs_in_time_order_on_one_scale(tmp_path):
    """Issue 36.15: of 10 videos the 8 longest, by time; a 1.3 s run drawn a fifth as wide as a 6.5 s one; a note says 2 are not drawn."""
    from monitor.report.page import MAX_TIMELINES, timeline_chart
    from monitor.report.runs import read_logs
    from monitor.report.statistics import summarise

    frames = [65, 13, 60, 61, 62, 63, 64, 10, 11, 64]  # at 10 fps; clip0 first, each a minute after the one before
    logs = [write_labels(tmp_path / f"{i}.csv", ["happy"] * n, source=f"clip{i}.mp4", start=T0 + pd.Timedelta(minutes=i)) for i, n in enumerate(frames)]
    read = read_logs(logs)
    chart, notes = timeline_chart(summarise(read.rows, "100ms", read.runs), tmp_path / "timeline.svg", COLOURS)
    assert MAX_TIMELINES == 8 and [row.xlabel for row in chart.rows] == [f"seconds into clip{i}.mp4" for i in (0, 1, 2, 3, 4, 5, 6, 9)]
    assert notes == ["the timeline draws the 8 runs with most frames, in time order; 2 of the 10 runs are not drawn (every run is in report.html's tables)"]
    paths = ET.fromstring(charts.render(chart)).iter(f"{SVG}path")
    bars = [rectangles(p.get("d")) for p in paths if p.find(f"{SVG}title").text == "happy"]  # one path a row
    widths = [max(x1 for _, _, x1, _ in b) - min(x0 for x0, _, _, _ in b) for b in bars]
    assert widths[1] == pytest.approx(widths[0] * 13 / 65, rel=0.02)  # one scale: 1.3 s of 6.5 s
