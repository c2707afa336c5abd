"""Reviewing mood logs afterwards: read them (only the needed columns), summarise, plot, write an HTML page.

Reading is the expensive part for long sessions, so it reads just seven columns with explicit
dtypes; everything after that is vectorised pandas on those columns.
"""

from __future__ import annotations

import argparse
import base64
import html
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.errors import UserError
from monitor.moodlog import BASE_COLUMNS

NEEDED = {
    "timestamp": "string",
    "source": "category",
    "frame": "float64",
    "face_id": "float32",
    "label": "category",
    "confidence": "float32",
}
GAP_S = 2.0  # a face unseen for longer than this starts a new stretch
# One processed frame: its rows share all of these (a log may hold several sources and sessions).
FRAME_KEY = ["log", "source", "frame", "timestamp"]


@dataclass
class Logs:
    """The rows of one or more logs that could be read, and what could not."""

    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    class_sets: dict[str, list[str]] = field(default_factory=dict)


def read_log(path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One log: (rows, classes from its p_ columns, notes). UserError when nothing usable is in it."""
    if not path.is_file():
        raise UserError(f"{path}: log not found; pass the CSV written by `python -m monitor`")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file; it holds no log rows")
    header = pd.read_csv(path, nrows=0).columns.tolist()
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise UserError(f"{path}: not a mood log (missing columns {', '.join(missing)}); expected the columns {', '.join(BASE_COLUMNS)}")
    classes = [c[2:] for c in header if c.startswith("p_")]
    notes = []
    try:
        df = pd.read_csv(path, usecols=list(NEEDED), dtype=NEEDED, on_bad_lines="skip", engine="c")
    except (ValueError, pd.errors.ParserError) as err:
        raise UserError(f"{path}: cannot parse ({str(err).splitlines()[0]}); is it a mood log?") from None
    n = len(df)
    if not _ends_with_newline(path) and n:  # the writer only writes whole lines: this one was cut by a crash
        df, n = df.iloc[:-1], n - 1
        notes.append(f"{path.name}: the last line was cut off (the monitor was killed?) and was left out")
    df["timestamp"] = pd.to_datetime(df["timestamp"], format="ISO8601", utc=True, errors="coerce")
    # a row cut short by a crash has no label/confidence although it has a face id
    broken = df["timestamp"].isna() | df["frame"].isna() | (df["face_id"].notna() & (df["label"].isna() | df["confidence"].isna()))
    if broken.any():
        notes.append(f"{path.name}: {int(broken.sum())} of {n} rows unreadable (bad timestamp or cut-off line) were left out")
        df = df[~broken]
    if df.empty:
        raise UserError(f"{path}: no valid rows (all {n} unreadable); check that it is a mood log")
    df["log"] = path.name
    return df, classes, notes


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"\n"


def read_logs(paths: list[Path]) -> Logs:
    """Several logs: the readable ones are combined; unreadable ones become notes (all unreadable: error)."""
    frames, notes, class_sets, errors = [], [], {}, []
    for path in paths:
        try:
            df, classes, n = read_log(Path(path))
        except UserError as err:
            errors.append(str(err))
            continue
        frames.append(df)
        notes += n
        class_sets[Path(path).name] = classes
    if not frames:
        raise UserError(errors[0] if len(errors) == 1 else "no readable log: " + "; ".join(errors))
    notes = errors + notes
    if len({tuple(c) for c in class_sets.values()}) > 1:
        notes.append("logs come from models with different classes: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in class_sets.items()))
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for col in ("source", "label", "log"):
        rows[col] = rows[col].astype("category")
    if not rows["timestamp"].is_monotonic_increasing:  # several logs, or clock changes
        rows = rows.sort_values("timestamp", kind="stable", ignore_index=True)
    return Logs(rows, notes, class_sets)


def filter_rows(rows: pd.DataFrame, since=None, until=None, face: str | None = None) -> pd.DataFrame:
    if since is not None:
        rows = rows[rows["timestamp"] >= since]
    if until is not None:
        rows = rows[rows["timestamp"] <= until]
    if face is not None:
        keys = face_keys(rows)
        frame_has_face = keys == face
        # keep that face's rows; other frames count as "face absent"
        frame_ids = rows.groupby(FRAME_KEY, observed=True, sort=False).ngroup()
        absent = ~frame_ids.isin(set(frame_ids[frame_has_face]))
        first_of_frame = ~frame_ids.duplicated()
        empty = rows[absent & first_of_frame].copy()
        empty[["face_id", "confidence"]] = np.nan
        empty["label"] = pd.NA
        categories = rows["label"].cat.categories
        rows = pd.concat([rows[frame_has_face], empty]).sort_values("timestamp", kind="stable")
        rows["label"] = pd.Categorical(rows["label"], categories=categories)
    return rows


def face_keys(rows: pd.DataFrame) -> pd.Series:
    """A face's name: its id, prefixed by the source when several sources are in the logs."""
    ids = rows["face_id"].astype("Int64").astype("string")
    if rows["source"].nunique() > 1:
        ids = rows["source"].astype("string") + "#" + ids
    return ids


@dataclass
class Summary:
    span: tuple[pd.Timestamp, pd.Timestamp]
    frames: int
    frames_with_face: int
    shares: pd.Series  # label -> share of face time
    stretches: pd.DataFrame  # label -> longest continuous stretch
    buckets: pd.DataFrame  # bucket start -> share of frames per label and "no face"
    faces: pd.DataFrame  # face -> frames, seconds, label shares, mean confidence
    sources: list[str]


def summarise(rows: pd.DataFrame, every: str = "1min") -> Summary:
    """All the numbers of a report, from the rows of the logs."""
    if rows.empty:
        raise UserError("no log rows in the chosen time range or face; widen --since/--until or check --face")
    frames = rows.drop_duplicates(FRAME_KEY)
    with_face = rows[rows["face_id"].notna()]
    frames_with_face = with_face.drop_duplicates(FRAME_KEY)
    labels = [c for c in rows["label"].cat.categories if (with_face["label"] == c).any()]
    shares = with_face["label"].value_counts(normalize=True).reindex(labels).fillna(0.0)
    return Summary(
        span=(rows["timestamp"].iloc[0], rows["timestamp"].iloc[-1]),
        frames=len(frames),
        frames_with_face=len(frames_with_face),
        shares=shares,
        stretches=longest_stretches(with_face, labels),
        buckets=mood_buckets(frames, with_face, labels, every),
        faces=per_face(with_face, labels),
        sources=[str(s) for s in rows["source"].unique()],
    )


def longest_stretches(faces: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per label, the longest time one face kept that (smoothed) label without a gap over GAP_S.

    Works on integer codes (face, label) and int64 times, so a million rows take well under a second.
    """
    if faces.empty:
        return pd.DataFrame(columns=["seconds", "start", "face"])
    face_code = faces.groupby(["source", "face_id"], observed=True, sort=False).ngroup().to_numpy()
    t = faces["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
    order = np.lexsort((t, face_code))
    key, t = face_code[order], t[order]
    lab = faces["label"].cat.codes.to_numpy()[order]
    new = np.ones(len(key), bool)
    new[1:] = (key[1:] != key[:-1]) | (lab[1:] != lab[:-1]) | (np.diff(t) > GAP_S * 1e9)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(key)) - 1
    runs = pd.DataFrame({"label": lab[starts], "seconds": (t[ends] - t[starts]) / 1e9, "start": t[starts], "row": order[starts]})
    best = runs.loc[runs.groupby("label")["seconds"].idxmax()]
    names = face_keys(faces.iloc[best["row"].to_numpy()]).to_numpy()
    categories = faces["label"].cat.categories
    out = pd.DataFrame(
        {"seconds": best["seconds"].to_numpy(), "start": pd.to_datetime(best["start"].to_numpy(), utc=True), "face": names},
        index=[categories[c] for c in best["label"]],
    )
    return out.reindex([label for label in labels if label in out.index])


def mood_buckets(frames: pd.DataFrame, faces: pd.DataFrame, labels: list[str], every: str) -> pd.DataFrame:
    """Per time bucket: share of processed frames showing each label, and with no face.

    Buckets with no processed frame at all (nothing recorded) are absent, not zero.
    """
    freq = pd.tseries.frequencies.to_offset(every)
    n_frames = frames.groupby(frames["timestamp"].dt.floor(freq)).size()
    out = pd.DataFrame(index=n_frames.index)
    face_frames = faces.drop_duplicates(FRAME_KEY)
    with_face = face_frames.groupby(face_frames["timestamp"].dt.floor(freq)).size().reindex(out.index).fillna(0)
    # each face-row's label weighted so that a frame's faces together count as one frame
    per_frame = faces.groupby(FRAME_KEY, observed=True)["label"].transform("size")
    weights = 1.0 / per_frame
    counts = (
        pd.DataFrame({"bucket": faces["timestamp"].dt.floor(freq), "label": faces["label"].astype("string"), "w": weights})
        .groupby(["bucket", "label"])["w"]
        .sum()
        .unstack(fill_value=0.0)
    )
    for label in labels:
        out[label] = counts.get(label, pd.Series(dtype=float)).reindex(out.index).fillna(0.0) / n_frames
    out["no face"] = 1.0 - with_face / n_frames
    out["frames"] = n_frames
    return out


def per_face(faces: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    if faces.empty:
        return pd.DataFrame(columns=["frames", "seconds", *labels, "mean confidence"])
    f = faces.assign(key=face_keys(faces).values, label=faces["label"].astype("string"))
    g = f.groupby("key")
    out = pd.DataFrame({"frames": g.size(), "seconds": (g["timestamp"].max() - g["timestamp"].min()).dt.total_seconds()})
    out = out.join(pd.crosstab(f["key"], f["label"], normalize="index").reindex(columns=labels, fill_value=0.0))
    out["mean confidence"] = g["confidence"].mean()
    return out.sort_values("frames", ascending=False)


def format_summary(s: Summary, every: str, notes: list[str]) -> str:
    pct = lambda v: f"{100 * v:5.1f} %"  # noqa: E731
    lines = [
        f"span        {s.span[0]:%Y-%m-%d %H:%M:%S} .. {s.span[1]:%Y-%m-%d %H:%M:%S} UTC ({(s.span[1] - s.span[0]).total_seconds():.1f} s)",
        f"sources     {', '.join(s.sources)}",
        f"frames      {s.frames}, with a face {s.frames_with_face} ({pct(s.frames_with_face / s.frames).strip()})",
        "face time   " + ", ".join(f"{k} {pct(v).strip()}" for k, v in s.shares.items()),
        "longest stretch per label:",
    ]
    for label, r in s.stretches.iterrows():
        lines.append(f"  {label:<10} {r['seconds']:7.1f} s  from {r['start']:%Y-%m-%d %H:%M:%S}  face {r['face']}")
    lines.append(f"mood per {every} (share of frames):")
    lines.append(_table(s.buckets.assign(frames=s.buckets["frames"].astype(int)), index_fmt=lambda t: f"{t:%Y-%m-%d %H:%M:%S}"))
    lines.append("per face:")
    lines.append(_table(s.faces))
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def _table(df: pd.DataFrame, index_fmt=str, limit: int = 50) -> str:
    shown = df.head(limit)
    cols = list(shown.columns)
    rows = [[index_fmt(i)] + [_cell(v) for v in r] for i, r in zip(shown.index, shown.itertuples(index=False))]
    widths = [max(len(str(x)) for x in col) for col in zip(["", *cols], *rows)]
    out = ["  " + "  ".join(str(h).rjust(w) for h, w in zip(["", *cols], widths))]
    out += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    if len(df) > limit:
        out.append(f"  ... {len(df) - limit} more rows (all in the HTML report)")
    return "\n".join(out)


def _cell(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.3f}"
    return str(v)


def plot_timeline(s: Summary, every: str, path: Path, colours: dict[str, str]) -> None:
    import matplotlib.pyplot as plt

    b = s.buckets
    fig, ax = plt.subplots(figsize=(11, 3.8))
    width = pd.tseries.frequencies.to_offset(every).nanos / 86_400e9  # matplotlib dates are in days
    x = b.index.tz_convert(None)
    bottom = np.zeros(len(b))
    for label in [c for c in b.columns if c not in ("frames", "no face")]:
        ax.bar(x, b[label], width=width, bottom=bottom, align="edge", color=colours.get(label), label=label)
        bottom += b[label].to_numpy()
    ax.bar(x, b["no face"], width=width, bottom=bottom, align="edge", color="white", edgecolor="0.6", hatch="///", label="no face")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of frames")
    ax.set_xlabel("time (UTC)")
    ax.set_title(f"Mood per {every} (blank = nothing recorded, hatched = nobody in view)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_faces(s: Summary, path: Path, colours: dict[str, str]) -> None:
    import matplotlib.pyplot as plt

    f = s.faces.head(20)
    labels = list(s.shares.index)
    fig, ax = plt.subplots(figsize=(8, 1 + 0.4 * max(1, len(f))))
    left = np.zeros(len(f))
    names = [str(k) for k in f.index]
    for label in labels:
        ax.barh(names, f[label], left=left, color=colours.get(label), label=label)
        left += f[label].to_numpy()
    for i, (_, r) in enumerate(f.iterrows()):
        ax.text(1.01, i, f"{int(r['frames'])} frames, {r['seconds']:.0f} s", va="center", fontsize=8)
    ax.set_xlim(0, 1.35)
    ax.invert_yaxis()
    ax.set_xlabel("share of the face's frames")
    ax.set_title("Per face")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confidence(rows: pd.DataFrame, path: Path, colours: dict[str, str]) -> None:
    import matplotlib.pyplot as plt

    faces = rows[rows["face_id"].notna()]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(0, 1, 41)
    for label in [c for c in faces["label"].cat.categories if (faces["label"] == c).any()]:
        ax.hist(faces.loc[faces["label"] == label, "confidence"], bins=bins, alpha=0.6, color=colours.get(label), label=label)
    ax.set_xlabel("confidence of the shown label")
    ax.set_ylabel("face-frames")
    ax.set_title("Confidence")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def label_colours(labels) -> dict[str, str]:
    """Matplotlib colours matching the overlay's (BGR there, RGB hex here)."""
    from monitor.overlay import NAMED_COLOURS, PALETTE

    out = {}
    for i, label in enumerate(labels):
        b, g, r = NAMED_COLOURS.get(str(label).lower(), PALETTE[i % len(PALETTE)])
        out[str(label)] = f"#{r:02x}{g:02x}{b:02x}"
    return out


def write_html(s: Summary, text: str, images: list[Path], path: Path) -> None:
    """One self-contained page (pictures embedded), so it opens offline and can be mailed."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Mood report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style></head><body>",
        f"<h1>Mood report</h1><p>{html.escape(', '.join(s.sources))}</p>",
    ]
    for img in images:
        data = base64.b64encode(img.read_bytes()).decode()
        parts.append(f"<p><img alt='{img.stem}' src='data:image/png;base64,{data}' style='max-width:100%'></p>")
    parts.append("<h2>Per face</h2>" + s.faces.to_html(float_format=lambda v: f"{v:.3f}"))
    parts.append("<h2>Mood per bucket</h2>" + s.buckets.to_html(float_format=lambda v: f"{v:.3f}"))
    parts.append(f"<h2>Summary</h2><pre>{html.escape(text)}</pre></body></html>")
    path.write_text("\n".join(parts))


def parse_time(value: str | None, name: str):
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise UserError(f"{name} {value!r}: not a date/time; use e.g. 2026-11-26T14:30 or '2026-11-26 14:30+01:00'") from None
    if t.tzinfo is None:
        t = t.tz_localize(pd.Timestamp.now().astimezone().tzinfo)
    return t.tz_convert("UTC")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m monitor report", description="Summarise and plot one or more mood logs.")
    p.add_argument("logs", nargs="+", type=Path, help="mood log CSV files written by python -m monitor")
    p.add_argument("--out", type=Path, help="folder for the pictures and report.html (default: next to the first log)")
    p.add_argument("--every", default="1min", help="time bucket for the mood timeline, e.g. 10s, 1min, 5min, 1h (default 1min)")
    p.add_argument("--face", help="only this face id (as printed in the per-face table)")
    p.add_argument("--since", help="only rows at or after this time (ISO 8601; local time if no offset)")
    p.add_argument("--until", help="only rows at or before this time")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        pd.tseries.frequencies.to_offset(args.every)
        if pd.tseries.frequencies.to_offset(args.every).nanos <= 0:
            raise ValueError
    except (ValueError, TypeError):
        raise UserError(f"--every {args.every!r}: not a time span; use e.g. 30s, 1min, 5min or 1h") from None
    since, until = parse_time(args.since, "--since"), parse_time(args.until, "--until")
    logs = read_logs(args.logs)
    rows = filter_rows(logs.rows, since, until, args.face)
    summary = summarise(rows, args.every)
    text = format_summary(summary, args.every, logs.notes)
    print(text)
    out = args.out or args.logs[0].resolve().parent / f"{args.logs[0].stem}-report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create the report folder ({err.strerror}); pass a writable --out") from None
    import matplotlib

    matplotlib.use("Agg")
    colours = label_colours(rows["label"].cat.categories)
    images = [out / "timeline.png", out / "faces.png", out / "confidence.png"]
    plot_timeline(summary, args.every, images[0], colours)
    plot_faces(summary, images[1], colours)
    plot_confidence(rows, images[2], colours)
    write_html(summary, text, images, out / "report.html")
    print(f"\nwrote {out}/: report.html, timeline.png, faces.png, confidence.png", file=sys.stderr)
    return 0
