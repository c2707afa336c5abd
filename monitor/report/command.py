"""`python -m monitor report`: summarise and plot mood logs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import program
from monitor.core.errors import UserError
from monitor.report import charts
from monitor.report.page import REPORT_FILES, counts_chart, faces_chart, label_colours, timeline_chart, write_html
from monitor.report.text import format_summary, summary_json

if TYPE_CHECKING:

    pass


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
    from monitor.moodlog import reader  # no pandas: the logs are read while a thread imports it

    reader.importing("pandas")
    read = reader.read_all(args.logs)
    from monitor.report.runs import combine
    from monitor.report.selection import check_every, filter_rows, parse_time
    from monitor.report.statistics import CONFIDENCE_EDGES, confidence_counts, summarise

    every = check_every(args.every)
    parse_time(args.since, "--since"), parse_time(args.until, "--until")  # a bad value is an error before any work
    logs = combine(read)
    del read
    since, until = parse_time(args.since, "--since", logs.offset), parse_time(args.until, "--until", logs.offset)
    rows = filter_rows(logs.rows, since, until, args.face)
    first = args.logs[0].resolve()
    out = args.out or (first / "report" if first.is_dir() else first.parent / f"{first.stem}-report")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create the report folder ({err.strerror}); pass a writable --out") from None
    if not os.access(out, os.W_OK):
        raise UserError(f"{out}: the report folder is not writable; pass a writable --out")
    from monitor.io.paths import same_file

    for name in REPORT_FILES:  # never write over a log being reported on
        clash = next((log for log in reader.log_files(list(args.logs)) if same_file(out / name, log)), None)
        if clash is not None:
            raise UserError(f"{clash}: the report would write {name} over this input; pass another --out so no log is overwritten")
    colours = label_colours(rows["label"].cat.categories)
    confidence = confidence_counts(rows)
    summary = summarise(rows, every, logs.runs)
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
        pictures.append(charts.Histogram(out / "confidence.svg", CONFIDENCE_EDGES, confidence, colours))
    images = {chart.path.stem: charts.write(chart) for chart in pictures}  # in the page's order
    text = format_summary(summary, notes)
    write_html(summary, text, images, out / "report.html")  # the files first: a closed pipe must not cost them
    print(f"wrote {out}/: report.html, {', '.join(f'{name}.svg' for name in images)}", file=sys.stderr)
    print(json.dumps({**summary_json(summary), "notes": [*summary.notes, *notes]}) if args.json else text, flush=True)
    return 0
