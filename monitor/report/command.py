"""`python -m monitor report` (`emotion-monitor report` installed): summarise and plot mood logs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import program
from monitor.core.errors import UserError
from monitor.core.text import printable
from monitor.report import charts
from monitor.report.page import REPORT_FILES, counts_chart, faces_chart, html_page, label_colours, timeline_chart, write_report
from monitor.report.text import format_summary, summary_json

if TYPE_CHECKING:

    pass


DEFAULT_LOGS = "logs"  # where the monitor writes its logs unless --log says otherwise


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program("monitor") + " report", description="Summarise and plot one or more mood logs.")
    p.add_argument(
        "logs", nargs="*", type=Path, help=f"mood log CSV files written by {program()}, or folders of them (default: {DEFAULT_LOGS}/, where it logs)"
    )
    p.add_argument("--out", type=Path, help="folder for the pictures and report.html (default: next to the first log)")
    p.add_argument("--every", help="time bucket for the mood timeline, e.g. 10s, 1min, 5min, 1h (default: from the recording's length)")
    p.add_argument("--face", help="only this face id (as printed in the per-face table)")
    p.add_argument(
        "--since", help="only rows at or after this time, as the report shows it (ISO 8601; without an offset, on the report's clock)"
    )
    p.add_argument("--until", help="only rows at or before this time (a date alone: until the end of that day)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of text: runs, shares of every class, pictures, stretches, buckets, faces")
    return p


def default_logs() -> Path:
    """`report` with no log named: the folder the monitor logs to by default."""
    folder = Path(DEFAULT_LOGS)
    if not folder.is_dir():
        raise UserError(f"{folder}/: no such folder (where {program()} logs by default); pass the mood logs to report, e.g. {program()} report mood.csv")
    return folder


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    args.logs = args.logs or [default_logs()]
    from monitor.moodlog import reader  # no pandas: the logs are read while a thread imports it

    reader.importing("pandas")
    read = reader.read_all(args.logs)
    from monitor.report.runs import combine
    from monitor.report.selection import check_every, check_range, filter_rows, parse_time
    from monitor.report.statistics import CONFIDENCE_EDGES, confidence_counts, summarise

    every = check_every(args.every)
    given = args.since, args.until
    check_range(parse_time(args.since, "--since"), parse_time(args.until, "--until", end=True), given)  # before any work
    logs = combine(read)
    del read
    since, until = parse_time(args.since, "--since", logs.offset), parse_time(args.until, "--until", logs.offset, end=True)
    check_range(since, until, given)
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
    images = {chart.path.stem: charts.render(chart) for chart in pictures}  # in the page's order
    text = format_summary(summary, notes)
    files = {"report.html": html_page(summary, text, images), **{f"{name}.svg": svg for name, svg in images.items()}}
    write_report(out, files)  # the files first: a closed pipe must not cost them
    print(printable(f"wrote {out}/: {', '.join(files)}"), file=sys.stderr)
    print(json.dumps({**summary_json(summary), "notes": [*summary.notes, *notes]}) if args.json else text, flush=True)
    return 0
