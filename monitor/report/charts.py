"""SVG charts without matplotlib: a timeline, per-face bars, a histogram and label counts, drawn as text."""

from __future__ import annotations

import datetime
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.core.text import printable

NO_FACE = "no face"


FONT = 12  # px: tick labels, axis labels and legends


TITLE = 14


CHAR = 0.6  # a character's width in em, roughly (DejaVu Sans, Arial): for laying out beside text


GREY = "#808080"


@dataclass
class TimelineRow:
    """One run's bars: left edges and widths in seconds into a video, or as datetime64 on the clock."""

    xlabel: str
    x: np.ndarray  # float seconds, or datetime64 (the log's own clock, no zone)
    width_s: np.ndarray
    shares: dict[str, np.ndarray]  # label -> share of the bucket's frames, stacked in this order ("no face" last)
    span: tuple | None = None  # the x axis's range (as x: seconds or datetime64), shared by rows on one scale; None: the row's own


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


def render(chart: Chart) -> str:
    """The chart as a standalone SVG document."""
    draw = {Timeline: _timeline, FaceBars: _faces, Histogram: _histogram, LabelCounts: _counts}[type(chart)]
    return draw(chart).svg()


def write(chart: Chart) -> str:
    """Render the chart into its file; the SVG text is returned for the HTML page."""
    text = render(chart)
    chart.path.write_text(text, encoding="utf-8")
    return text


@dataclass
class Canvas:
    """SVG elements in drawing order, on a page of width x height pixels, for the picture named `name`."""

    name: str
    width: float
    height: float
    parts: list[str] = field(default_factory=list)

    @property
    def hatch(self) -> str:
        """The hatch pattern's id: it carries the picture's name, as several SVGs inlined in one page must not share ids."""
        return f"hatch-{self.name}"

    def svg(self) -> str:
        hatch = (
            f'<defs><pattern id="{self.hatch}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="1"/></pattern></defs>'
        )
        body = "\n".join(self.parts)
        w, h = math.ceil(self.width), math.ceil(self.height)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="{FONT}">\n'
            f'<rect width="{w}" height="{h}" fill="white"/>{hatch}\n{body}\n</svg>\n'
        )

    def text(self, x: float, y: float, s: str, anchor: str = "start", size: float = FONT, rotate: bool = False) -> None:
        """Text centred vertically on y."""
        turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" dominant-baseline="central"{turn}>'
            f"{html.escape(printable(s))}</text>"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "black", width: float = 1) -> None:
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"/>')

    def bars(self, x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray, label: str, colour: str) -> None:
        """Rectangles (pixel corners) as one path: a timeline of 2,000 buckets stays one element a label."""
        keep = (x1 - x0 > 0) & (np.abs(y1 - y0) > 0)
        d = "".join(
            f"M{a:.1f},{b:.1f}H{c:.1f}V{e:.1f}H{a:.1f}Z" for a, b, c, e in zip(x0[keep], y0[keep], x1[keep], y1[keep])
        )
        if d:
            self.parts.append(f'<path d="{d}" {self.paint(label, colour)}><title>{html.escape(printable(label))}</title></path>')

    def paint(self, label: str, colour: str) -> str:
        if label == NO_FACE:  # nobody in view: hatched, so it never reads as one of the moods
            return f'fill="url(#{self.hatch})" stroke="#999" stroke-width="0.5"'
        return f'fill="{colour}"'

    def polygon(self, xs: np.ndarray, ys: np.ndarray, colour: str, opacity: float) -> None:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        self.parts.append(f'<polygon points="{points}" fill="{colour}" fill-opacity="{opacity}" stroke="{colour}"/>')


@dataclass
class PlotArea:
    """A plot's area in pixels and the data range it shows."""

    left: float
    top: float
    width: float
    height: float
    x: tuple[float, float]
    y: tuple[float, float]

    def px(self, v) -> np.ndarray:
        lo, hi = self.x
        return self.left + (np.asarray(v, float) - lo) / ((hi - lo) or 1) * self.width

    def py(self, v) -> np.ndarray:
        lo, hi = self.y
        return self.top + self.height - (np.asarray(v, float) - lo) / ((hi - lo) or 1) * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height


def text_width(texts, size: float = FONT) -> float:
    """Pixels the longest text takes, roughly."""
    return max((len(str(t)) for t in texts), default=0) * CHAR * size


def nice_ticks(lo: float, hi: float, most: int = 7, whole: bool = False) -> tuple[np.ndarray, list[str]]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) between lo and hi, and their labels.

    `whole`: counts, so steps of at least 1.
    """
    if not hi > lo:
        return np.array([lo]), [f"{lo:g}"]
    raw = max((hi - lo) / (most - 1), 1.0 if whole else 0.0)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9) and not (whole and m == 2.5 and power < 10))
    ticks = np.arange(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1) * step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9) + (1 if f"{step / power:g}" == "2.5" else 0))
    return ticks, [f"{t:,.{decimals}f}" if abs(t) >= 10_000 else f"{t:.{decimals}f}" for t in ticks]


TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]


def time_ticks(lo: float, hi: float, most: int = 8) -> tuple[np.ndarray, list[str]]:
    """UtcOffsets ticks at whole seconds, minutes, hours or days (values: seconds since the epoch, local clock)."""
    span = max(hi - lo, 1e-9)
    step = next((s for s in TIME_STEPS if span / s <= most - 1), 86400 * math.ceil(span / 86400 / (most - 1)))
    ticks = np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * float(step)
    moments = [datetime.datetime.fromtimestamp(t, datetime.UTC) for t in ticks]
    days = {m.date() for m in moments}
    fmt = "%Y-%m-%d" if step >= 86400 else ("%m-%d " if len(days) > 1 else "") + ("%H:%M:%S" if step < 60 else "%H:%M")
    return ticks, [m.strftime(fmt) for m in moments]


def axes(c: Canvas, box: PlotArea, xticks, yticks, xlabel: str = "", ylabel: str = "") -> None:
    """The plot's frame, ticks outside it, tick labels and axis labels."""
    (xs, xl), (ys, yl) = xticks, yticks
    for v, s in zip(box.px(xs), xl):
        c.line(v, box.bottom, v, box.bottom + 4)
        c.text(v, box.bottom + 14, s, "middle")
    for v, s in zip(box.py(ys), yl):
        c.line(box.left - 4, v, box.left, v)
        c.text(box.left - 7, v, s, "end")
    c.parts.append(f'<rect x="{box.left:.1f}" y="{box.top:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" fill="none" stroke="black"/>')
    if xlabel:
        c.text(box.left + box.width / 2, box.bottom + 34, xlabel, "middle")
    if ylabel:
        c.text(box.left - 12 - text_width(yl) - FONT / 2, box.top + box.height / 2, ylabel, "middle", rotate=True)


def legend(c: Canvas, x: float, y: float, colours: dict[str, str], labels) -> None:
    """Swatches and names in a framed column, its top left corner at (x, y)."""
    labels = list(labels)
    w, h = legend_width(labels) - 10, 8 + 20 * len(labels)
    c.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" fill="white" stroke="#ccc" rx="3"/>')
    for i, label in enumerate(labels):
        top = y + 8 + 20 * i
        c.parts.append(f'<rect x="{x + 6:.1f}" y="{top + 2:.1f}" width="20" height="10" {c.paint(label, colours.get(label, GREY))}/>')
        c.text(x + 30, top + 7, label)


def legend_width(labels) -> float:
    """The legend's width and the gap after it."""
    return 34 + text_width(labels) + 10


def _timeline(t: Timeline) -> Canvas:
    labels = list(t.rows[0].shares) if t.rows else []
    left, right, plot_h, below, gap = 75.0, 10 + legend_width(labels), 170.0, 48.0, 22.0
    width = 1100.0
    c = Canvas(t.path.stem, width, 36 + len(t.rows) * (plot_h + below) + (len(t.rows) - 1) * gap + 6)
    c.text(width / 2, 18, t.title, "middle", size=TITLE)
    top = 36.0
    for row in t.rows:
        clock = np.issubdtype(row.x.dtype, np.datetime64)
        x = _seconds(row.x)
        end = x + row.width_s
        span = tuple(_seconds(np.array(row.span))) if row.span else (x.min(), end.max()) if len(x) else (0.0, 1.0)
        box = PlotArea(left, top, width - left - right, plot_h, (float(span[0]), float(span[1])), (0.0, 1.0))
        low = np.zeros(len(x))
        for label, share in row.shares.items():
            c.bars(box.px(x), box.px(end), box.py(low), box.py(low + share), label, t.colours.get(label, GREY))
            low = low + share
        xticks = time_ticks(*box.x) if clock else nice_ticks(*box.x, most=11)
        axes(c, box, xticks, nice_ticks(0, 1, 6), row.xlabel, "share of frames")
        top += plot_h + below + gap
    if t.rows:
        legend(c, width - right + 10, 36, t.colours, labels)
    return c


def _seconds(x: np.ndarray) -> np.ndarray:
    """A timeline's x values as float seconds: since the epoch (clock times, datetime64) or into a video."""
    return x.astype("datetime64[ns]").astype(np.int64) / 1e9 if np.issubdtype(x.dtype, np.datetime64) else np.asarray(x, float)


def _faces(f: FaceBars) -> Canvas:
    labels = list(f.shares)
    names_w, notes_w = text_width(f.names) + 20, text_width(f.notes, 11) + 16
    bar_w, row_h = 500.0, 28.0
    box = PlotArea(names_w, 36, bar_w, row_h * max(1, len(f.names)), (0.0, 1.0), (0.0, 1.0))
    c = Canvas(f.path.stem, names_w + bar_w + notes_w + legend_width(labels), box.bottom + 50)
    c.text(box.left + bar_w / 2, 18, "Per face", "middle", size=TITLE)
    tops = box.top + row_h * np.arange(len(f.names)) + 4
    left = np.zeros(len(f.names))
    for label, share in f.shares.items():
        share = np.nan_to_num(np.asarray(share, float))
        c.bars(box.px(left), box.px(left + share), tops, tops + row_h - 8, label, f.colours.get(label, GREY))
        left = left + share
    for top, name, note in zip(tops, f.names, f.notes):
        c.text(box.left - 7, top + row_h / 2 - 4, name, "end")
        c.text(box.left + bar_w + 8, top + row_h / 2 - 4, note, size=11)
    axes(c, box, nice_ticks(0, 1, 6), (np.array([]), []), "share of the face's frames")
    legend(c, box.left + bar_w + notes_w, box.top, f.colours, labels)
    return c


def _histogram(h: Histogram) -> Canvas:
    labels = list(h.counts)
    most = max((int(np.max(v)) for v in h.counts.values()), default=0) or 1
    yticks = nice_ticks(0, most * 1.05, 6, whole=True)
    left = 30 + text_width(yticks[1]) + FONT
    box = PlotArea(left, 36, 560, 250, (0.0, 1.0), (0.0, most * 1.05))
    c = Canvas(h.path.stem, left + box.width + 10 + legend_width(labels), box.bottom + 50)
    c.text(box.left + box.width / 2, 18, "Confidence", "middle", size=TITLE)
    edges = np.asarray(h.edges, float)
    for label, counts in h.counts.items():  # each label's steps, filled down to zero
        xs = np.concatenate([[edges[0]], np.repeat(edges[1:-1], 2), [edges[-1]], [edges[-1], edges[0]]])
        ys = np.concatenate([np.repeat(np.asarray(counts, float), 2), [0, 0]])
        c.polygon(box.px(xs), box.py(ys), h.colours.get(label, GREY), 0.6)
    axes(c, box, nice_ticks(0, 1, 6), yticks, "confidence of the shown label", "face-frames")
    legend(c, box.left + box.width + 10, box.top, h.colours, labels)
    return c


def _counts(k: LabelCounts) -> Canvas:
    names, n = list(k.counts), np.array(list(k.counts.values()), float)
    row_h = 28.0
    left = 20 + text_width(names)
    top_value = max(1.0, float(n.max(initial=0))) * 1.15  # room for the number after the longest bar
    box = PlotArea(left, 36, 480, row_h * max(1, len(names)), (0.0, top_value), (0.0, 1.0))
    c = Canvas(k.path.stem, left + box.width + 20, box.bottom + 50)
    c.text(box.left + box.width / 2, 18, k.title, "middle", size=TITLE)
    tops = box.top + row_h * np.arange(len(names)) + 4
    for top, name, v in zip(tops, names, n):
        c.bars(box.px([0.0]), box.px([v]), np.array([top]), np.array([top + row_h - 8]), name, k.colours.get(name, GREY))
        c.text(box.left - 7, top + row_h / 2 - 4, name, "end")
        c.text(float(box.px(v)) + 5, top + row_h / 2 - 4, f"{int(v)}")
    axes(c, box, nice_ticks(0, top_value, 6, whole=True), (np.array([]), []), "faces")
    return c
