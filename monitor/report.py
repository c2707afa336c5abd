"""`python -m monitor report`: a summary of mood logs as text (or JSON), pictures and one HTML page.

The numbers come from `monitor.summary`, the pictures (SVG) from `monitor.charts`. Reading a
long log with Arrow starts before pandas is imported (`monitor.logfiles`), so the two overlap.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import charts, program
from monitor.errors import UserError
from monitor.words import duration, plural

if TYPE_CHECKING:
    import pandas as pd

    from monitor.clock import Clock
    from monitor.summary import Summary

# ---------------------------------------------------------------- text and JSON


def clock(t: pd.Timestamp, on: Clock) -> str:
    """A moment as the log's own clock showed it then (the offset of that moment, summer time or not)."""
    return f"{t.tz_convert(on.at(t)):%Y-%m-%d %H:%M:%S}"


def utc_offset(on: Clock) -> str:
    return on.label()


def describe_sources(sources: pd.DataFrame, most: int | None = 5) -> str:
    """One line: each run with its kind and length, or counts per kind and the first few names."""
    def one(name, r) -> str:
        if r["kind"] == "picture":
            return f"{name} (picture)"
        return f"{name} ({r['kind']}, {duration(r['seconds'])}, {plural(int(r['frames']), 'frame')})"

    if most is None or len(sources) <= most:
        return ", ".join(one(name, r) for name, r in sources.iterrows())
    kinds = sources["kind"].value_counts()
    counted = ", ".join(plural(n, k) for k, n in kinds.items())
    return f"{counted}: {', '.join(sources.index[:most])}, ... (every one in report.html)"


def bucket_label(summary: Summary, run: str, start: pd.Timestamp) -> str:
    """A bucket's start: time into the video for files, clock time for cameras."""
    info = summary.sources.loc[run]
    if info["kind"] == "video":
        return f"{run} at {(start - info['start']).total_seconds():.0f} s"
    return (f"{run} " if len(summary.sources) > 1 else "") + clock(start, summary.offset)


REPORT_FILES = ("report.html", "timeline.svg", "pictures.svg", "faces.svg", "confidence.svg")


def format_summary(s: Summary, notes: list[str]) -> str:
    pct = lambda v: f"{100 * v:.1f} %"  # noqa: E731
    kinds = set(s.sources["kind"])
    lines = []
    if kinds != {"picture"}:
        own = " (videos in their own time)" if "video" in kinds else ""
        lines.append(
            f"span        {clock(s.span[0], s.offset)} .. {clock(s.span[1], s.offset)} {s.offset.label(*s.span)}, "
            f"{duration((s.span[1] - s.span[0]).total_seconds())}{own}"
        )
    lines += [
        f"sources     {describe_sources(s.sources)}",
        f"frames      {s.frames}, with a face {s.frames_with_face} ({pct(s.frames_with_face / s.frames)})",
        "face time   " + (", ".join(f"{k} {pct(v)}" for k, v in s.shares.items()) or "no face was seen in any frame"),
    ]
    if s.pictures is not None:
        faces = s.pictures["faces"]
        lines.append(f"pictures    {len(s.pictures)}, with a face {int((faces > 0).sum())}; faces per label: " + ", ".join(
            f"{k} {int(round(v * int(faces.sum())))}" for k, v in s.shares.items()
        ))
        lines.append(_table(s.pictures.head(50)))
    if not s.stretches.empty:
        lines.append("longest stretch per label (one face, no gap over 2 s):")
        for label, r in s.stretches.iterrows():
            kind = s.sources.loc[r["source"], "kind"]
            where = f"{r['source']} at {r['at_s']:.1f} s" if kind == "video" else clock(r["start"], s.offset)
            length = duration(r["seconds"]) if r["seconds"] > 0 else "one frame"  # a single frame has no length of its own
            lines.append(f"  {label:<10} {length:>12}  from {where}  face {r['face']}")
    if len(s.buckets):
        lines.append(f"mood per {s.every} (share of frames):")
        b = s.buckets.drop(columns=["width_s"]).assign(frames=s.buckets["frames"].astype(int))
        lines.append(_table(b, index_fmt=lambda key: bucket_label(s, *key)))
    if len(s.faces):
        lines.append("per face:")
        lines.append(_table(s.faces.assign(seconds=s.faces["seconds"].map(duration))))
    lines += [f"note: {n}" for n in [*s.notes, *notes]]
    return "\n".join(lines)


def _table(df: pd.DataFrame, index_fmt=str, limit: int = 50) -> str:
    shown = df.head(limit)
    cols = list(shown.columns)
    rows = [[index_fmt(i)] + [_cell(v) for v in r] for i, r in zip(shown.index, shown.itertuples(index=False))]
    widths = [max(len(str(x)) for x in col) for col in zip(["", *cols], *rows)]
    out = ["  " + "  ".join(str(h).rjust(w) for h, w in zip(["", *cols], widths))]
    out += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    if len(df) > limit:
        out.append(f"  ... {len(df) - limit} more rows (all in report.html)")
    return "\n".join(out)


def _cell(v) -> str:
    import numpy as np  # loaded already, with the logs

    if isinstance(v, float | np.floating):
        return "-" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def summary_json(s: Summary) -> dict:
    """The summary for scripts: every run in its own time, then the overall shares."""
    labels = list(s.shares.index)
    runs = []
    for name, r in s.sources.iterrows():
        runs.append(
            {
                "run": name,
                "source": r["source"],
                "kind": r["kind"],
                "start": r["start"].tz_convert(s.offset.at(r["start"])).isoformat(timespec="milliseconds"),
                "seconds": round(float(r["seconds"]), 3),
                "frames": int(r["frames"]),
                "faces": int(r["faces"]),
                "face_frames": int(r["face_frames"]),
                "share": {label: round(float(r[label]), 4) for label in labels},
            }
        )
    return {
        "runs": runs,
        "frames": s.frames,
        "frames_with_face": s.frames_with_face,
        "share": {label: round(float(v), 4) for label, v in s.shares.items()},
        "every": s.every,
        "notes": s.notes,
    }


# ---------------------------------------------------------------- pictures and the page

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
    from monitor.colours import class_colour

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


# ---------------------------------------------------------------- command line


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program("monitor") + " report", description="Summarise and plot one or more mood logs.")
    p.add_argument("logs", nargs="+", type=Path, help="mood log CSV files written by python -m monitor, or folders of them")
    p.add_argument("--out", type=Path, help="folder for the pictures and report.html (default: next to the first log)")
    p.add_argument("--every", help="time bucket for the mood timeline, e.g. 10s, 1min, 5min, 1h (default: from the recording's length)")
    p.add_argument("--face", help="only this face id (as printed in the per-face table)")
    p.add_argument(
        "--since", help="only rows at or after this time, as the report shows it (ISO 8601; without an offset, on the report's clock)"
    )
    p.add_argument("--until", help="only rows at or before this time")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (runs, then overall shares) instead of text")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from monitor import logfiles  # no pandas: the logs are read while a thread imports it

    logfiles.importing("pandas")
    read = logfiles.read_all(args.logs)
    from monitor import summary as sm

    every = sm.check_every(args.every)
    sm.parse_time(args.since, "--since"), sm.parse_time(args.until, "--until")  # a bad value is an error before any work
    logs = sm.combine(read)
    del read
    since, until = sm.parse_time(args.since, "--since", logs.offset), sm.parse_time(args.until, "--until", logs.offset)
    rows = sm.filter_rows(logs.rows, since, until, args.face)
    first = args.logs[0].resolve()
    out = args.out or (first / "report" if first.is_dir() else first.parent / f"{first.stem}-report")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create the report folder ({err.strerror}); pass a writable --out") from None
    if not os.access(out, os.W_OK):
        raise UserError(f"{out}: the report folder is not writable; pass a writable --out")
    from monitor.paths import same_file

    for name in REPORT_FILES:  # never write over a log being reported on
        clash = next((log for log in logfiles.log_files(list(args.logs)) if same_file(out / name, log)), None)
        if clash is not None:
            raise UserError(f"{clash}: the report would write {name} over this input; pass another --out so no log is overwritten")
    colours = label_colours(rows["label"].cat.categories)
    confidence = sm.confidence_counts(rows)
    summary = sm.summarise(rows, every, logs.runs)
    del rows
    pictures, notes = [], list(logs.notes)
    if len(summary.timed):
        chart, more = timeline_chart(summary, out / "timeline.svg", colours)
        pictures.append(chart)
        notes += more
    if summary.pictures is not None:
        pictures.append(counts_chart(summary, out / "pictures.svg", colours))
    if len(summary.faces) and len(summary.timed):
        pictures.append(faces_chart(summary, out / "faces.svg", colours))
    if confidence:
        pictures.append(charts.Histogram(out / "confidence.svg", sm.CONFIDENCE_EDGES, confidence, colours))
    images = {chart.path.stem: charts.write(chart) for chart in pictures}  # in the page's order
    text = format_summary(summary, notes)
    write_html(summary, text, images, out / "report.html")  # the files first: a closed pipe must not cost them
    print(f"wrote {out}/: report.html, {', '.join(f'{name}.svg' for name in images)}", file=sys.stderr)
    print(json.dumps({**summary_json(summary), "notes": [*summary.notes, *notes]}) if args.json else text, flush=True)
    return 0
