"""A report's pictures and its HTML page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.text import duration, plural
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
    total = int(s.pictures["faces"].sum())
    counts = {str(k): int(round(v * total)) for k, v in s.shares.items()}
    return charts.LabelCounts(path, f"Labels of the faces in {plural(len(s.pictures), 'picture')}", counts, colours)


def timeline_chart(s: Summary, path: Path, colours: dict[str, str]) -> tuple[charts.Timeline, list[str]]:
    """One row per run (the longest few): the mood per bucket, in video time for files and clock time for cameras."""
    timed = s.timed
    shown = timed.sort_values("frames", ascending=False).head(MAX_TIMELINES)
    notes = []
    if len(shown) < len(timed):
        notes.append(f"the timeline shows the {len(shown)} runs with most frames of {len(timed)}")
    labels = [c for c in s.buckets.columns if c not in ("frames", "no face", "width_s")]
    rows = []
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
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [index_name, *df.columns])
    body = []
    for key, row in zip(df.index, df.itertuples(index=False)):
        cells = [key if not isinstance(key, tuple) else " ".join(map(str, key)), *row]
        names = [index_name, *df.columns]
        body.append("<tr>" + "".join(f"<td>{html.escape(formats.get(n, _cell)(v))}</td>" for n, v in zip(names, cells)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_html(s: Summary, text: str, images: dict[str, str], path: Path) -> None:
    """One self-contained page (the pictures' SVG inline), so it opens offline and can be mailed."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Mood report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "td:first-child{text-align:left}figure{margin:0 0 1em}figure svg{max-width:100%;height:auto}</style></head><body>",
        f"<h1>Mood report</h1><p>{html.escape(plural(len(s.sources), 'run'))}: {html.escape(describe_sources(s.sources, most=None))}</p>",
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
    path.write_text("\n".join(parts))
