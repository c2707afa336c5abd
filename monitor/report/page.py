"""A report's pictures and its HTML page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.core.errors import UserError
from monitor.core.text import duration, plural, printable
from monitor.report import charts
from monitor.report.text import _cell, bucket_label, clock, describe_sources, utc_offset

if TYPE_CHECKING:
    import pandas as pd

    from monitor.report.statistics import Summary


REPORT_FILES = ("report.html", "timeline.svg", "pictures.svg", "faces.svg", "confidence.svg")


MAX_TIMELINES = 8  # runs drawn as their own timeline row; more are summarised in a note


def faces_chart(s: Summary, path: Path, colours: dict[str, str]) -> charts.FaceBars:
    """The 20 faces seen longest: their labels' shares, frames and time seen."""
    f = s.faces.head(20)
    return charts.FaceBars(
        path,
        [str(k) for k in f.index],
        {label: f[label].to_numpy(float) for label in s.shares.index},
        [f"{plural(int(r.frames), 'frame')}, {duration(r.seconds)}" for r in f[["frames", "seconds"]].itertuples()],
        colours,
    )


def counts_chart(s: Summary, path: Path, colours: dict[str, str]) -> charts.LabelCounts:
    """Photo logs: how many faces got each label."""
    counts = {str(k): int(n) for k, n in s.picture_labels.items()}
    return charts.LabelCounts(path, f"Labels of the faces in {plural(len(s.pictures), 'picture')}", counts, colours)


def timeline_chart(s: Summary, path: Path, colours: dict[str, str]) -> tuple[charts.Timeline, list[str]]:
    """One row per run in time order (the MAX_TIMELINES with most frames), the mood per bucket: in video time for files,
    clock time for cameras. Rows of one kind and day share one x scale, so a short run is drawn short."""
    timed = s.timed
    shown = timed.sort_values("frames", ascending=False, kind="stable").head(MAX_TIMELINES).sort_values("start", kind="stable")
    notes = []
    if len(shown) < len(timed):
        notes.append(
            f"the timeline draws the {len(shown)} runs with most frames, in time order; {len(timed) - len(shown)} of the "
            f"{len(timed)} runs are not drawn (every run is in report.html's tables)"
        )
    labels = [c for c in s.buckets.columns if c not in ("frames", "no face", "width_s")]
    rows, scale = [], {}  # (video?, day) -> the rows drawn on that one scale
    for run, info in shown.iterrows():
        b = s.buckets.xs(run, level="source")
        if info["kind"] == "video":
            x, xlabel = (b.index - info["start"]).total_seconds().to_numpy(), f"seconds into {run}"
        else:
            x = s.offset.local_ns(b.index.asi8).view("M8[ns]")
            what = f"camera {info['source']}" if info["kind"] == "camera" else run
            xlabel = f"time ({utc_offset(s.offset)}), {what}"
        shares = {label: b[label].to_numpy(float) for label in [*labels, "no face"]}
        rows.append(charts.TimelineRow(xlabel, x, b["width_s"].to_numpy(float), shares))
        day = s.offset.local_ns(np.array([info["start"].value])).view("M8[ns]").astype("M8[D]")[0]
        scale.setdefault((info["kind"] == "video", day), []).append(rows[-1])
    for (video, _), together in scale.items():
        ends = [row.x + (row.width_s if video else (row.width_s * 1e9).astype("m8[ns]")) for row in together]
        span = (0.0 if video else min(row.x.min() for row in together), max(end.max() for end in ends))
        for row in together:
            row.span = span
    title = f"Mood per {s.every} (blank = nothing recorded, hatched = nobody in view)"
    return charts.Timeline(path, title, rows, colours), notes


def label_colours(labels) -> dict[str, str]:
    """Colours matching the overlay's (BGR there, RGB hex here)."""
    from monitor.core.colours import class_colour

    names = tuple(str(label) for label in labels)
    return {name: "#{2:02x}{1:02x}{0:02x}".format(*class_colour(name, names)) for name in names}


def html_table(df: pd.DataFrame, index_name: str, formats: dict | None = None) -> str:
    """A plain table with one header row: the index as the first column, numbers formatted for people."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(printable(c))}</th>" for c in [index_name, *df.columns])
    body = []
    for key, row in zip(df.index, df.itertuples(index=False)):
        cells = [key if not isinstance(key, tuple) else " ".join(map(str, key)), *row]
        names = [index_name, *df.columns]
        body.append("<tr>" + "".join(f"<td>{html.escape(printable(formats.get(n, _cell)(v)))}</td>" for n, v in zip(names, cells)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_page(s: Summary, text: str, images: dict[str, str]) -> str:
    """One self-contained page (the pictures' SVG inline), so it opens offline and can be mailed."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Mood report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "td:first-child{text-align:left}figure{margin:0 0 1em}figure svg{max-width:100%;height:auto}</style></head><body>",
        f"<h1>Mood report</h1><p>{html.escape(plural(len(s.sources), 'run'))}: {html.escape(printable(describe_sources(s.sources, most=None)))}</p>",
    ]
    for name, svg in images.items():
        parts.append(f"<figure id='{name}'>{svg}</figure>")
    when = lambda t: clock(t, s.offset)  # noqa: E731
    runs = s.sources.drop(columns=["source"]).assign(seconds=s.sources["seconds"].map(duration), start=s.sources["start"].map(when))
    parts.append("<h2>Runs</h2>" + html_table(runs, "run"))
    if s.pictures is not None:
        parts.append("<h2>Pictures</h2>" + html_table(s.pictures, "picture"))
    if len(s.faces):
        parts.append("<h2>Per face</h2>" + html_table(s.faces.assign(seconds=s.faces["seconds"].map(duration)), "face"))
    if len(s.buckets):
        b = s.buckets.drop(columns=["width_s"]).assign(frames=s.buckets["frames"].astype(int))
        b.index = [bucket_label(s, *key) for key in b.index]
        parts.append(f"<h2>Mood per {html.escape(s.every)}</h2>" + html_table(b, "bucket"))
    parts.append(f"<h2>Summary</h2><pre>{html.escape(text)}</pre></body></html>")
    return "\n".join(parts)


def write_report(out: Path, files: dict[str, str]) -> None:
    """A report's files (name -> text) written together: each under a temporary name, then all renamed into place, then
    the files an earlier report left in `out` that this one does not make are removed, so no old picture sits beside the
    new page. Only REPORT_FILES are ever removed; other files in the folder stay."""
    import os

    temporary = {name: out / f".{name}.partial-{os.getpid()}" for name in files}
    try:
        for name, text in files.items():  # a file name not in UTF-8 (a skipped log's, in a note) written as \udcXX
            temporary[name].write_text(text, encoding="utf-8", errors="backslashreplace")
        for name, path in temporary.items():
            os.replace(path, out / name)
        for name in set(REPORT_FILES) - set(files):
            (out / name).unlink(missing_ok=True)
    except OSError as err:
        for path in temporary.values():
            path.unlink(missing_ok=True)
        raise UserError(f"{out}: cannot write the report ({err.strerror or err}); pass a writable --out with free space") from None
