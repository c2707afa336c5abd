"""The report's pictures: drawn by a child process that loads matplotlib while the logs are read."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from monitor import charts
from tests.conftest import ROOT
from tests.test_report import write_log

PNG = b"\x89PNG\r\n\x1a\n"


def histogram(path) -> charts.Histogram:
    edges = np.linspace(0, 1, 41)
    return charts.Histogram(path, edges, {"happy": np.arange(40), "sad": np.arange(40)[::-1]}, {"happy": "#ffcc00"})


def test_the_report_process_loads_neither_matplotlib_nor_opencv(tmp_path):
    """The pictures come from the painter; the report itself stays light (and a camera-free machine needs no OpenCV for it)."""
    log = write_log(tmp_path / "a.csv", [(20, "happy"), (10, None), (20, "sad")])
    code = (
        "import sys; from monitor.__main__ import main\n"
        f"assert main(['report', {str(log)!r}, '--out', {str(tmp_path / 'r')!r}]) == 0\n"
        "print('loaded:', sorted(m for m in ('cv2', 'matplotlib', 'tensorflow') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "loaded: []" in proc.stdout
    for name in ("timeline.png", "faces.png", "confidence.png"):
        assert (tmp_path / "r" / name).read_bytes()[:8] == PNG, name
    page = (tmp_path / "r" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert page.index("alt='timeline'") < page.index("alt='faces'") < page.index("alt='confidence'")  # the page's order


def test_charts_sent_in_batches_are_all_drawn_before_finish_returns(tmp_path):
    with charts.Painter() as painter:
        assert painter.proc is not None
        painter.draw([histogram(tmp_path / "a.png")])
        painter.draw([histogram(tmp_path / "b.png"), histogram(tmp_path / "c.png")])
        painter.finish()
        assert painter.proc.returncode == 0
    for name in "abc":
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG


def test_without_a_child_the_charts_are_drawn_here(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(charts.subprocess, "Popen", refuse)
    with charts.Painter() as painter:
        assert painter.proc is None
        painter.draw([histogram(tmp_path / "here.png")])
        painter.finish()
    assert (tmp_path / "here.png").read_bytes()[:8] == PNG


def test_leaving_early_ends_the_child():
    with pytest.raises(KeyError), charts.Painter() as painter:
        proc = painter.proc
        raise KeyError("a user error while reading the logs")
    assert proc.poll() is not None  # killed and reaped, not left running


def test_a_chart_the_child_cannot_write_is_an_error_not_a_silent_gap(tmp_path):
    with charts.Painter() as painter:
        painter.draw([histogram(tmp_path / "no" / "such" / "folder.png")])
        with pytest.raises(RuntimeError, match="(?s)drawing the report.s pictures failed.*folder.png"):
            painter.finish()


def test_a_report_folder_it_cannot_write_to_is_a_one_line_error(tmp_path, monkeypatch):
    """Checked before any reading or drawing (as root every folder is writable, so the check is made to say no)."""
    from monitor import report
    from monitor.errors import UserError

    log = write_log(tmp_path / "a.csv", [(5, "happy")])
    monkeypatch.setattr(report.os, "access", lambda path, mode: False)
    with pytest.raises(UserError, match="ro: the report folder is not writable; pass a writable --out"):
        report.main([str(log), "--out", str(tmp_path / "ro")])
