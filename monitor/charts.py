"""The report's pictures, drawn with matplotlib from plain data (numpy arrays, names, colours).

Importing matplotlib and drawing take about a second, as long as reading a ten-hour log,
so a report starts a `Painter` first: a child process that imports matplotlib while the
parent reads and summarises the logs, then draws what it is sent. This module imports no
pandas and no matplotlib at the top, so the child starts light and the parent pays nothing.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import numpy as np

DPI = 100
NO_FACE = "no face"


@dataclass
class TimelineRow:
    """One run's bars: left edges and widths in seconds into a video, or as datetime64 on the clock."""

    xlabel: str
    x: np.ndarray  # float seconds, or datetime64 (the log's own clock, no zone)
    width_s: np.ndarray
    shares: dict[str, np.ndarray]  # label -> share of the bucket's frames, stacked in this order ("no face" last)


@dataclass
class Timeline:
    path: Path
    title: str
    rows: list[TimelineRow]
    colours: dict[str, str]


@dataclass
class FaceBars:
    path: Path
    names: list[str]
    shares: dict[str, np.ndarray]  # label -> share of each face's frames
    notes: list[str]  # beside each bar: frames and time seen
    colours: dict[str, str]


@dataclass
class Histogram:
    path: Path
    edges: np.ndarray
    counts: dict[str, np.ndarray]  # label -> face-frames per confidence bin
    colours: dict[str, str]


@dataclass
class LabelCounts:
    path: Path
    title: str
    counts: dict[str, int]
    colours: dict[str, str]


Chart = Timeline | FaceBars | Histogram | LabelCounts


def render(chart: Chart) -> None:
    """Draw one chart into its PNG file."""
    from matplotlib.figure import Figure

    draw = {Timeline: _timeline, FaceBars: _faces, Histogram: _histogram, LabelCounts: _counts}[type(chart)]
    fig = Figure(figsize=_size(chart))
    draw(fig, chart)
    fig.savefig(chart.path, dpi=DPI)


def _margins(fig, left: float, right: float, top: float = 0.45, bottom: float = 0.6, gap: float = 0.0) -> None:
    """Fixed margins in inches (tight_layout would draw the figure once more to measure them)."""
    w, h = fig.get_size_inches()
    rows = max(1, len(fig.axes))
    axes_h = (h - top - bottom - gap * (rows - 1)) / rows
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h, hspace=gap / axes_h)


def _text_width(texts, size: float = 10) -> float:
    """Inches a line of the longest text takes, roughly (DejaVu Sans: about 0.6 em a character)."""
    return max((len(str(t)) for t in texts), default=0) * 0.55 * size / 72


def _size(chart: Chart) -> tuple[float, float]:
    if isinstance(chart, Timeline):
        return 11, 1.2 + 2.2 * len(chart.rows)
    if isinstance(chart, FaceBars):  # bars 6 inches wide, whatever the faces' names and the labels
        return _faces_left(chart) + 6 + _faces_right(chart), 1.4 + 0.4 * max(1, len(chart.names))
    if isinstance(chart, LabelCounts):
        return 7, 1.2 + 0.4 * max(1, len(chart.counts))
    return 7, 3.5


def _faces_left(c: FaceBars) -> float:
    return 0.3 + _text_width(c.names)


def _faces_right(c: FaceBars) -> float:
    return 0.75 + _text_width(c.shares)


def _rectangles(x: np.ndarray, width: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Bars as polygons for one PolyCollection: one artist for all of them, not one patch each."""
    import numpy as np

    return np.stack([np.c_[x, low], np.c_[x + width, low], np.c_[x + width, high], np.c_[x, high]], axis=1)


def _timeline(fig, c: Timeline) -> None:
    import numpy as np
    from matplotlib import dates
    from matplotlib.collections import PolyCollection

    axes = fig.subplots(len(c.rows), 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, c.rows):
        clock = np.issubdtype(row.x.dtype, np.datetime64)
        x = dates.date2num(row.x) if clock else np.asarray(row.x, float)
        width = row.width_s / 86_400 if clock else row.width_s  # matplotlib dates are in days
        bottom = np.zeros(len(x))
        for label, share in row.shares.items():
            style = {"facecolors": "white", "edgecolors": "0.6", "hatch": "///", "linewidths": 0.5} if label == NO_FACE else {
                "facecolors": c.colours.get(label, "0.5"), "edgecolors": "none"}
            ax.add_collection(PolyCollection(_rectangles(x, width, bottom, bottom + share), label=label, **style))
            bottom = bottom + share
        if len(x):
            ax.set_xlim(x.min(), (x + width).max())
        if clock:
            ax.xaxis_date()
        ax.set_ylim(0, 1)
        ax.set_xlabel(row.xlabel)
        ax.set_ylabel("share of frames")
    axes[0].set_title(c.title)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _margins(fig, left=0.75, right=0.75 + _text_width(c.rows[0].shares), gap=0.75)


def _faces(fig, c: FaceBars) -> None:
    ax = fig.subplots()
    left = [0.0] * len(c.names)
    for label, share in c.shares.items():
        ax.barh(c.names, share, left=left, color=c.colours.get(label), label=label)
        left = [a + b for a, b in zip(left, share)]
    for i, note in enumerate(c.notes):
        ax.text(1.01, i, note, va="center", fontsize=8)
    ax.set_xlim(0, 1.35)
    ax.invert_yaxis()
    ax.set_xlabel("share of the face's frames")
    ax.set_title("Per face")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars, never over one
    _margins(fig, left=_faces_left(c), right=_faces_right(c))


def _histogram(fig, c: Histogram) -> None:
    ax = fig.subplots()
    for label, counts in c.counts.items():
        ax.stairs(counts, c.edges, fill=True, alpha=0.6, color=c.colours.get(label), label=label)
    ax.set_xlabel("confidence of the shown label")
    ax.set_ylabel("face-frames")
    ax.set_title("Confidence")
    ax.legend()
    most = max((int(v.max()) for v in c.counts.values()), default=1)
    _margins(fig, left=0.5 + _text_width([most]), right=0.25)


def _counts(fig, c: LabelCounts) -> None:
    ax = fig.subplots()
    names, n = list(c.counts), list(c.counts.values())
    ax.barh(names, n, color=[c.colours.get(label) for label in names])
    for i, v in enumerate(n):
        ax.text(v, i, f" {v}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel("faces")
    ax.set_title(c.title)
    _margins(fig, left=0.3 + _text_width(names), right=0.6)


# ---------------------------------------------------------------- drawing beside the reading


@dataclass
class Painter:
    """Draws charts in a child process started at once, so matplotlib loads while the logs are read.

    Use as a context manager: leaving it early (an error, Ctrl-C) ends the child. Where no
    child can be started, the charts are drawn in this process.
    """

    proc: subprocess.Popen | None = field(default=None, init=False)
    errors: BinaryIO | None = field(default=None, init=False)  # the child's stderr: a file, which never fills up as a pipe could

    def __enter__(self) -> Painter:
        self.errors = tempfile.TemporaryFile()
        root = str(Path(__file__).resolve().parent.parent)  # so the child imports this same package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from monitor.charts import serve; serve()"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.errors, env=env,
                start_new_session=True,  # Ctrl-C goes to the report, which ends the child
            )
        except OSError:
            self.proc = None
        return self

    def draw(self, charts: list[Chart]) -> None:
        """Start drawing these charts (in this process, where there is no child, they are drawn at once)."""
        if self.proc is None:
            for chart in charts:
                render(chart)
            return
        with contextlib.suppress(BrokenPipeError):  # the child died: finish() says why
            pickle.dump(charts, self.proc.stdin)
            self.proc.stdin.flush()

    def finish(self) -> None:
        """Return once every chart sent is drawn and its file written."""
        if self.proc is None:
            return
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        if self.proc.wait():
            self.errors.seek(0)
            said = self.errors.read().decode(errors="replace")
            raise RuntimeError(f"drawing the report's pictures failed (exit {self.proc.returncode}):\n{said}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:  # left early: an error or Ctrl-C
            self.proc.kill()
            self.proc.wait()
        self.errors.close()


def serve() -> None:
    """The child: load matplotlib at once, then draw the charts sent on stdin until it closes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates  # noqa: F401  (loaded now, while the parent reads)
    from matplotlib.collections import PolyCollection  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    while True:  # batches of charts, each drawn as it comes, until the report closes the pipe
        try:
            charts = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        for chart in charts:
            render(chart)
    sys.stdout.flush()
    os._exit(0)  # every file is written and closed: skip the interpreter's slow teardown of matplotlib
