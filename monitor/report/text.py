"""A report as text for the terminal and as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.core.text import duration, plural, printable

if TYPE_CHECKING:
    import pandas as pd

    from monitor.moodlog.utc_offsets import UtcOffsets
    from monitor.report.statistics import Summary


def clock(t: pd.Timestamp, on: UtcOffsets) -> str:
    """A moment as the log's own clock showed it then (the offset of that moment, summer time or not)."""
    return f"{t.tz_convert(on.at(t)):%Y-%m-%d %H:%M:%S}"


def utc_offset(on: UtcOffsets) -> str:
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


def model_lines(sources) -> list[str]:
    """'model       NAME HASH, ...' when one model and settings made every run, else a line per model; none when unknown."""
    from monitor.report.provenance import groups

    if "model" not in sources or not (sources["model"] != "").any():
        return []
    lines = groups(sources)
    if len(lines) == 1:
        return [f"model       {printable(sources['model'].iloc[0])}"]
    return ["models:"] + [f"  {printable(line)}" for line in lines]


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
        *model_lines(s.sources),
        f"frames      {s.frames}, with a face {s.frames_with_face} ({pct(s.frames_with_face / s.frames)})",
        "face time   " + (", ".join(f"{k} {pct(v)}" for k, v in s.shares.items()) or "no face was seen in any frame"),
    ]
    if s.pictures is not None:
        faces = s.pictures["faces"]
        lines.append(f"pictures    {len(s.pictures)}, with a face {int((faces > 0).sum())}; faces per label: " + ", ".join(
            f"{k} {n}" for k, n in s.picture_labels.items()
        ))
        lines += _table(s.pictures.head(50))
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
        lines += _table(b, index_fmt=lambda key: bucket_label(s, *key))
    if len(s.faces):
        lines.append("per face:")
        lines += _table(s.faces.assign(seconds=s.faces["seconds"].map(duration)))
    lines += [f"note: {n}" for n in [*s.notes, *notes]]
    return "\n".join(map(printable, lines))  # a name's newline or ESC cannot break a line or reach the terminal


def _table(df: pd.DataFrame, index_fmt=str, limit: int = 50) -> list[str]:
    """The table's lines, right-aligned; each cell printable, so a column stays one width."""
    shown = df.head(limit)
    cols = [printable(c) for c in shown.columns]
    rows = [[printable(index_fmt(i))] + [printable(_cell(v)) for v in r] for i, r in zip(shown.index, shown.itertuples(index=False))]
    widths = [max(len(str(x)) for x in col) for col in zip(["", *cols], *rows)]
    out = ["  " + "  ".join(str(h).rjust(w) for h, w in zip(["", *cols], widths))]
    out += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    if len(df) > limit:
        out.append(f"  ... {len(df) - limit} more rows (all in report.html)")
    return out


def _cell(v) -> str:
    import numpy as np  # loaded already, with the logs

    if isinstance(v, float | np.floating):
        return "-" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def summary_json(s: Summary) -> dict:
    """The summary for scripts, with what the text shows: every run in its own time, the overall shares, pictures, longest
    stretches, the mood per bucket and per face. Shares have a key for every class of the logs' models, 0 when never shown."""
    classes = s.classes or list(s.shares.index)
    when = lambda t: t.tz_convert(s.offset.at(t)).isoformat(timespec="milliseconds")  # noqa: E731
    shares = lambda r: {c: round(float(r.get(c, 0.0)), 4) for c in classes}  # noqa: E731
    runs = [
        {
            "run": name,
            "source": r["source"],
            "kind": r["kind"],
            "start": when(r["start"]),
            "seconds": round(float(r["seconds"]), 3),
            "frames": int(r["frames"]),
            "faces": int(r["faces"]),
            "face_frames": int(r["face_frames"]),
            "share": shares(r),
            **({"model": r["record"]} if isinstance(r.get("record"), dict) else {}),
        }
        for name, r in s.sources.iterrows()
    ]
    out = {"runs": runs, "frames": s.frames, "frames_with_face": s.frames_with_face, "classes": classes, "share": shares(s.shares)}
    if len(s.timed):
        out["span"] = {"start": when(s.span[0]), "end": when(s.span[1]), "seconds": round((s.span[1] - s.span[0]).total_seconds(), 3)}
    if s.pictures is not None:
        out["picture_faces"] = {c: int(s.picture_labels.get(c, 0)) for c in classes}
        out["pictures"] = [
            {
                "picture": name,
                "faces": int(r["faces"]),
                "labels": r["labels"].split(", ") if r["faces"] else [],
                "mean_confidence": _number(r["mean confidence"]),
            }
            for name, r in s.pictures.iterrows()
        ]
    out["longest"] = [
        {"label": label, "seconds": round(float(r["seconds"]), 3), "run": r["source"], "face": r["face"], "start": when(r["start"]), "at_s": _number(r["at_s"])}
        for label, r in s.stretches.iterrows()
    ]
    out["every"] = s.every
    out["buckets"] = [
        {"run": run, "start": when(start), "at_s": _number((start - s.sources.loc[run, "start"]).total_seconds()) if s.sources.loc[run, "kind"] == "video" else None,
         "frames": int(r["frames"]), "no_face": round(float(r["no face"]), 4), "share": shares(r)}
        for (run, start), r in s.buckets.iterrows()
    ]
    out["faces"] = [
        {"face": face, "frames": int(r["frames"]), "seconds": round(float(r["seconds"]), 3), "share": shares(r), "mean_confidence": _number(r["mean confidence"])}
        for face, r in s.faces.iterrows()
    ]
    out["notes"] = list(s.notes)
    return out


def _number(v, digits: int = 4) -> float | None:
    """A float for JSON, None where it is missing (JSON has no NaN)."""
    return None if v is None or v != v else round(float(v), digits)
