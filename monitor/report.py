"""Reviewing mood logs afterwards: read them (only the needed columns), summarise, plot, write an HTML page.

Reading is the expensive part for long sessions, so it reads just seven columns with explicit
dtypes; everything after that is vectorised pandas on those columns.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitor import program
from monitor.errors import UserError
from monitor.moodlog import BASE_COLUMNS

NEEDED = {
    "timestamp": "string",
    "source": "category",
    "frame": "float64",
    "stream_time_s": "float64",
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
    offset: datetime.timezone = datetime.UTC  # the UTC offset of the first log's times: how they are shown


def read_log(path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One log: (rows, classes from its p_ columns, notes). UserError when nothing usable is in it.

    Malformed lines (a row cut by a crash, a row glued onto it by an old append) are left out
    and counted in a note; they never make the whole file unreadable.
    """
    if not path.is_file():
        raise UserError(f"{path}: log not found; pass the CSV written by `python -m monitor`")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file; it holds no log rows")
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8").columns.tolist()
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError):
        raise UserError(f"{path}: not a mood log (not a readable CSV text file); pass the CSV written by `python -m monitor`") from None
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise UserError(f"{path}: not a mood log (missing columns {', '.join(missing)}); expected the columns {', '.join(BASE_COLUMNS)}")
    classes = [c[2:] for c in header if c.startswith("p_")]
    lines = _count_lines(path) - 1  # data lines, without the header
    if lines <= 0:
        raise UserError(f"{path}: holds only its header: no rows were logged (the run saw no frame?)")
    try:  # fast path: explicit dtypes
        df = pd.read_csv(path, usecols=list(NEEDED), dtype=NEEDED, on_bad_lines="skip", engine="c", encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):  # a malformed value somewhere: parse as text, then coerce
        df = _read_tolerant(path)
    notes = []
    if not _ends_with_newline(path) and len(df):  # the writer only writes whole lines: this one was cut by a crash
        df = df.iloc[:-1]
        notes.append(f"{path.name}: the last line was cut off (the monitor was killed?) and was left out")
    offset = _offset_of(df["timestamp"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], format="ISO8601", utc=True, errors="coerce")
    # a row cut short by a crash has no label/confidence although it has a face id
    broken = df["timestamp"].isna() | df["frame"].isna() | (df["face_id"].notna() & (df["label"].isna() | df["confidence"].isna()))
    dropped = lines - len(df) - (0 if _ends_with_newline(path) else 1)  # lines the parser refused (wrong number of fields)
    if broken.any() or dropped > 0:
        notes.append(f"{path.name}: {int(broken.sum()) + max(dropped, 0)} of {lines} rows malformed (cut off or damaged) were left out")
        df = df[~broken]
    if df.empty:
        raise UserError(f"{path}: no valid rows (all {lines} malformed); check that it is a mood log")
    df["log"] = path.name
    df["t"], df["media_s"] = media_time(df)
    df.attrs["offset"] = offset
    return df, classes, notes


def _offset_of(timestamps: pd.Series) -> datetime.timezone:
    """The UTC offset the log was written in (its first timestamp's), to show times as the user's clock did."""
    first = timestamps.dropna().head(1).astype("string")
    m = OFFSET.search(str(first.iloc[0])) if len(first) else None
    if not m or m.group(0) == "Z":
        return datetime.UTC
    sign = -1 if m.group(1) == "-" else 1
    return datetime.timezone(sign * datetime.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


OFFSET = re.compile(r"(?:([+-])(\d\d):?(\d\d)|Z)$")


def source_kinds(sources) -> dict[str, str]:
    """'camera', 'stream' or 'file' for each source name, as the monitor read it."""
    from monitor.sources import parse_spec

    return {str(s): parse_spec(str(s))[0] for s in sources}


def media_time(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The time each row happened in the recording: (absolute time, seconds since the source's start).

    A camera or stream is measured in wall time. A video file is measured in its own time
    (`stream_time_s`) from the moment its processing started, so an 8-second clip processed in
    2 seconds still spans 8 seconds. A source that starts over (frame numbers falling: the same
    file run again into the same log) starts a new run with its own origin.
    """
    kinds = source_kinds(df["source"].dropna().unique())
    is_file = df["source"].astype("string").map(kinds).eq("file").fillna(False).to_numpy(bool)
    by_source = df.groupby("source", observed=True, sort=False)
    restart = (by_source["frame"].diff() < 0).astype(int)
    run = restart.groupby(df["source"], observed=True).cumsum()
    origin = df.groupby([df["source"], run], observed=True, sort=False)["timestamp"].transform("first")
    stream = pd.to_timedelta(df["stream_time_s"].fillna(0.0), unit="s")
    t = df["timestamp"].where(~is_file, origin + stream)
    media_s = np.where(is_file, df["stream_time_s"].fillna(0.0), (df["timestamp"] - origin).dt.total_seconds())
    return t, pd.Series(media_s, index=df.index)


def _read_tolerant(path: Path) -> pd.DataFrame:
    """The needed columns as text, numbers coerced: a damaged value becomes missing instead of failing the file."""
    df = pd.read_csv(
        path, usecols=list(NEEDED), dtype="string", on_bad_lines="skip", engine="c", encoding="utf-8", encoding_errors="replace"
    )
    for col, dtype in NEEDED.items():
        if dtype.startswith("float"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(dtype)
        elif dtype == "category":
            df[col] = df[col].astype("category")
    return df


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"\n"


def _count_lines(path: Path) -> int:
    """Lines in a file (a cut last line counts), read in blocks: cheap even for a 10-hour log."""
    count, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


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
    offset = frames[0].attrs["offset"]
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for col in ("source", "label", "log"):
        rows[col] = rows[col].astype("category")
    order = list(dict.fromkeys(c for classes in class_sets.values() for c in classes))  # the models' class order
    present = list(rows["label"].cat.categories)
    rows["label"] = rows["label"].cat.set_categories([c for c in order if c in present] + [c for c in present if c not in order])
    if not rows["t"].is_monotonic_increasing:  # several logs, or clock changes
        rows = rows.sort_values("t", kind="stable", ignore_index=True)
    rows.attrs["offset"] = offset
    return Logs(rows, notes, class_sets, offset)


def filter_rows(rows: pd.DataFrame, since=None, until=None, face: str | None = None) -> pd.DataFrame:
    """Rows logged between `since` and `until` (wall-clock times), and only one face's if `face` is given."""
    if since is not None:
        rows = rows[rows["timestamp"] >= since]
    if until is not None:
        rows = rows[rows["timestamp"] <= until]
    if face is not None:
        keys = face_keys(rows)
        frame_has_face = keys == face
        if not frame_has_face.any():
            known = sorted(set(keys.dropna()), key=lambda k: (len(k), k))
            listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise UserError(f"--face {face}: no such face in the chosen rows; the faces there are {listed or 'none'}")
        # keep that face's rows; other frames count as "face absent"
        frame_ids = rows.groupby(FRAME_KEY, observed=True, sort=False).ngroup()
        absent = ~frame_ids.isin(set(frame_ids[frame_has_face]))
        first_of_frame = ~frame_ids.duplicated()
        empty = rows[absent & first_of_frame].copy()
        empty[["face_id", "confidence"]] = np.nan
        empty["label"] = pd.NA
        categories = rows["label"].cat.categories
        rows = pd.concat([rows[frame_has_face], empty]).sort_values("t", kind="stable")
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
    span: tuple[pd.Timestamp, pd.Timestamp]  # first and last moment recorded (video time for files)
    frames: int
    frames_with_face: int
    shares: pd.Series  # label -> share of face time
    stretches: pd.DataFrame  # label -> longest continuous stretch: seconds, start, face, source, at_s
    buckets: pd.DataFrame  # (source, bucket start) -> share of frames per label and "no face"
    faces: pd.DataFrame  # face -> frames, seconds, label shares, mean confidence
    sources: pd.DataFrame  # source -> kind, start, seconds, frames
    every: str = "1min"
    offset: datetime.timezone = datetime.UTC


BUCKETS = ["1s", "2s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "6h", "12h", "1D"]


def auto_every(seconds: float, most: int = 60) -> str:
    """The smallest usual bucket that shows `seconds` of recording in at most `most` bars."""
    for every in BUCKETS:
        if seconds / pd.Timedelta(every).total_seconds() <= most:
            return every
    return BUCKETS[-1]


def summarise(rows: pd.DataFrame, every: str | None = None) -> Summary:
    """All the numbers of a report, from the rows of the logs (bucket size from the span when `every` is None)."""
    if rows.empty:
        raise UserError("no log rows in the chosen time range or face; widen --since/--until or check --face")
    sources = per_source(rows)
    every = every or auto_every(sources["seconds"].max())
    frames = rows.drop_duplicates(FRAME_KEY)
    with_face = rows[rows["face_id"].notna()]
    frames_with_face = with_face.drop_duplicates(FRAME_KEY)
    labels = [c for c in rows["label"].cat.categories if (with_face["label"] == c).any()]
    shares = with_face["label"].value_counts(normalize=True).reindex(labels).fillna(0.0)
    return Summary(
        span=(rows["t"].min(), rows["t"].max()),
        frames=len(frames),
        frames_with_face=len(frames_with_face),
        shares=shares,
        stretches=longest_stretches(with_face, labels),
        buckets=mood_buckets(frames, with_face, labels, every),
        faces=per_face(with_face, labels),
        sources=sources,
        every=every,
        offset=rows.attrs.get("offset", datetime.UTC),
    )


def per_source(rows: pd.DataFrame) -> pd.DataFrame:
    """Each source's kind (camera, stream, video, picture), start, recorded seconds and frames."""
    g = rows.groupby("source", observed=True, sort=False)
    out = pd.DataFrame({"start": g["t"].min(), "seconds": (g["t"].max() - g["t"].min()).dt.total_seconds(), "frames": g["frame"].nunique()})
    kinds = source_kinds(out.index)
    out.insert(
        0, "kind", [("picture" if n == 1 else "video") if kinds[str(s)] == "file" else kinds[str(s)] for s, n in out["frames"].items()]
    )
    out.index = out.index.astype(str)
    return out.sort_values("start")


def longest_stretches(faces: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per label, the longest time one face kept that (smoothed) label without a gap over GAP_S.

    Times are the recording's (`t`: video time for files). Works on integer codes and int64
    times, so a million rows take well under a second.
    """
    if faces.empty:
        return pd.DataFrame(columns=["seconds", "start", "face", "source", "at_s"])
    face_code = faces.groupby(["source", "face_id"], observed=True, sort=False).ngroup().to_numpy()
    t = faces["t"].dt.as_unit("ns").astype("int64").to_numpy()
    order = np.lexsort((t, face_code))
    key, t = face_code[order], t[order]
    lab = faces["label"].cat.codes.to_numpy()[order]
    new = np.ones(len(key), bool)
    new[1:] = (key[1:] != key[:-1]) | (lab[1:] != lab[:-1]) | (np.diff(t) > GAP_S * 1e9)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(key)) - 1
    runs = pd.DataFrame({"label": lab[starts], "seconds": (t[ends] - t[starts]) / 1e9, "start": t[starts], "row": order[starts]})
    best = runs.loc[runs.groupby("label")["seconds"].idxmax()]
    first_rows = faces.iloc[best["row"].to_numpy()]
    categories = faces["label"].cat.categories
    out = pd.DataFrame(
        {
            "seconds": best["seconds"].to_numpy(),
            "start": pd.to_datetime(best["start"].to_numpy(), utc=True),
            "face": face_keys(first_rows).to_numpy(),
            "source": first_rows["source"].astype(str).to_numpy(),
            "at_s": first_rows["media_s"].to_numpy(),
        },
        index=[categories[c] for c in best["label"]],
    )
    return out.reindex([label for label in labels if label in out.index])


def bucket_starts(rows: pd.DataFrame, every: str) -> pd.Series:
    """Each row's time bucket: clock buckets for cameras, buckets from the video's start for files."""
    step = pd.Timedelta(every)
    origin = rows["t"] - pd.to_timedelta(rows["media_s"], unit="s")
    from_start = origin + step * np.floor(rows["media_s"].to_numpy() / step.total_seconds())
    is_file = rows["source"].astype("string").map(source_kinds(rows["source"].cat.categories)).eq("file").to_numpy(bool)
    return rows["t"].dt.floor(step).where(~is_file, from_start)


def mood_buckets(frames: pd.DataFrame, faces: pd.DataFrame, labels: list[str], every: str) -> pd.DataFrame:
    """Per source and time bucket: share of processed frames showing each label, and with no face.

    Buckets with no processed frame at all (nothing recorded) are absent, not zero.
    """
    frame_key = [frames["source"].astype(str), bucket_starts(frames, every).rename("start")]
    n_frames = frames.groupby(frame_key).size()
    out = pd.DataFrame(index=n_frames.index)
    face_frames = faces.drop_duplicates(FRAME_KEY)
    face_key = [face_frames["source"].astype(str), bucket_starts(face_frames, every).rename("start")]
    with_face = face_frames.groupby(face_key).size().reindex(out.index).fillna(0)
    # each face-row's label weighted so that a frame's faces together count as one frame
    weights = 1.0 / faces.groupby(FRAME_KEY, observed=True)["label"].transform("size")
    counts = (
        pd.DataFrame(
            {
                "source": faces["source"].astype(str),
                "start": bucket_starts(faces, every),
                "label": faces["label"].astype("string"),
                "w": weights,
            }
        )
        .groupby(["source", "start", "label"])["w"]
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
    out = pd.DataFrame({"frames": g.size(), "seconds": (g["t"].max() - g["t"].min()).dt.total_seconds()})
    out = out.join(pd.crosstab(f["key"], f["label"], normalize="index").reindex(columns=labels, fill_value=0.0))
    out["mean confidence"] = g["confidence"].mean()
    return out.sort_values("frames", ascending=False)


def clock(t: pd.Timestamp, offset: datetime.timezone) -> str:
    """A moment as the log's own clock showed it."""
    return f"{t.tz_convert(offset):%Y-%m-%d %H:%M:%S}"


def describe_sources(sources: pd.DataFrame, most: int = 5) -> str:
    """One line: each source with its kind and length, or counts per kind and the first few names."""
    if len(sources) <= most:
        return ", ".join(
            f"{name} ({r['kind']}" + (f", {r['seconds']:.1f} s, {r['frames']} frames)" if r["kind"] != "picture" else ")")
            for name, r in sources.iterrows()
        )
    kinds = sources["kind"].value_counts()
    counted = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in kinds.items())
    return f"{counted}: {', '.join(sources.index[:most])}, ... (every one in the HTML report)"


def bucket_label(summary: Summary, source: str, start: pd.Timestamp) -> str:
    """A bucket's start: clock time for cameras, time into the video for files."""
    info = summary.sources.loc[source]
    if info["kind"] in ("video", "picture"):
        return f"{source} at {(start - info['start']).total_seconds():.0f} s"
    return (f"{source} " if len(summary.sources) > 1 else "") + clock(start, summary.offset)


def format_summary(s: Summary, notes: list[str]) -> str:
    pct = lambda v: f"{100 * v:5.1f} %"  # noqa: E731
    tz = s.span[0].tz_convert(s.offset).strftime("UTC%z")
    lines = [
        f"span        {clock(s.span[0], s.offset)} .. {clock(s.span[1], s.offset)} {tz[:-2]}:{tz[-2:]} "
        f"({(s.span[1] - s.span[0]).total_seconds():.1f} s; videos in their own time)",
        f"sources     {describe_sources(s.sources)}",
        f"frames      {s.frames}, with a face {s.frames_with_face} ({pct(s.frames_with_face / s.frames).strip()})",
        "face time   " + ", ".join(f"{k} {pct(v).strip()}" for k, v in s.shares.items()),
        "longest stretch per label:",
    ]
    for label, r in s.stretches.iterrows():
        kind = s.sources.loc[r["source"], "kind"]
        where = f"{r['source']} at {r['at_s']:.1f} s" if kind in ("video", "picture") else clock(r["start"], s.offset)
        lines.append(f"  {label:<10} {r['seconds']:7.1f} s  from {where}  face {r['face']}")
    lines.append(f"mood per {s.every} (share of frames):")
    lines.append(_table(s.buckets.assign(frames=s.buckets["frames"].astype(int)), index_fmt=lambda key: bucket_label(s, *key)))
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


MAX_TIMELINES = 8  # sources drawn as their own timeline row; more are summarised in a note


def plot_timeline(s: Summary, path: Path, colours: dict[str, str]) -> list[str]:
    """One row per source: the mood per bucket, in video time for files and clock time for cameras.

    Returns notes (sources left out of the picture when there are many).
    """
    import matplotlib.pyplot as plt

    shown = s.sources[s.sources["kind"] != "picture"].sort_values("frames", ascending=False).head(MAX_TIMELINES)
    notes = []
    if len(shown) < (s.sources["kind"] != "picture").sum():
        notes.append(f"the timeline shows the {len(shown)} sources with most frames of {len(s.sources)}")
    if shown.empty:  # pictures only: one row over the pictures' times
        shown = s.sources.head(0)
    rows = list(shown.index) or [None]
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.2 + 2.2 * len(rows)), squeeze=False)
    labels = [c for c in s.buckets.columns if c not in ("frames", "no face")]
    step = pd.Timedelta(s.every)
    for ax, source in zip(axes[:, 0], rows):
        b = s.buckets if source is None else s.buckets.xs(source, level="source")
        b = b.droplevel("source") if "source" in b.index.names else b
        if source is not None and shown.loc[source, "kind"] == "video":
            x, width = (b.index - shown.loc[source, "start"]).total_seconds(), step.total_seconds()
            ax.set_xlabel(f"seconds into {source}")
        else:
            x = b.index.tz_convert(s.offset).tz_localize(None)
            width = step.total_seconds() / 86_400  # matplotlib dates are in days
            ax.set_xlabel(f"time ({s.span[0].tz_convert(s.offset):UTC%z})" + (f" - {source}" if source else ""))
        bottom = np.zeros(len(b))
        for label in labels:
            ax.bar(x, b[label], width=width, bottom=bottom, align="edge", color=colours.get(label), label=label)
            bottom += b[label].to_numpy()
        ax.bar(x, b["no face"], width=width, bottom=bottom, align="edge", color="white", edgecolor="0.6", hatch="///", label="no face")
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of frames")
    axes[0, 0].set_title(f"Mood per {s.every} (blank = nothing recorded, hatched = nobody in view)")
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return notes


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
        f"<h1>Mood report</h1><p>{html.escape(describe_sources(s.sources))}</p>",
    ]
    for img in images:
        data = base64.b64encode(img.read_bytes()).decode()
        parts.append(f"<p><img alt='{img.stem}' src='data:image/png;base64,{data}' style='max-width:100%'></p>")
    parts.append("<h2>Sources</h2>" + s.sources.to_html(float_format=lambda v: f"{v:.1f}"))
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
    if t.tzinfo is None:  # local time, with the UTC offset in force at that moment (summer time included)
        t = pd.Timestamp(t.to_pydatetime().astimezone())
    return t.tz_convert("UTC")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program("monitor") + " report", description="Summarise and plot one or more mood logs.")
    p.add_argument("logs", nargs="+", type=Path, help="mood log CSV files written by python -m monitor")
    p.add_argument("--out", type=Path, help="folder for the pictures and report.html (default: next to the first log)")
    p.add_argument("--every", help="time bucket for the mood timeline, e.g. 10s, 1min, 5min, 1h (default: from the recording's length)")
    p.add_argument("--face", help="only this face id (as printed in the per-face table)")
    p.add_argument("--since", help="only rows at or after this time (ISO 8601; local time if no offset)")
    p.add_argument("--until", help="only rows at or before this time")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.every is not None:
        try:
            if pd.tseries.frequencies.to_offset(args.every).nanos <= 0:
                raise ValueError
        except (ValueError, TypeError):
            raise UserError(f"--every {args.every!r}: not a time span; use e.g. 30s, 1min, 5min or 1h") from None
    since, until = parse_time(args.since, "--since"), parse_time(args.until, "--until")
    logs = read_logs(args.logs)
    rows = filter_rows(logs.rows, since, until, args.face)
    summary = summarise(rows, args.every)
    out = args.out or args.logs[0].resolve().parent / f"{args.logs[0].stem}-report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create the report folder ({err.strerror}); pass a writable --out") from None
    import matplotlib

    matplotlib.use("Agg")
    colours = label_colours(rows["label"].cat.categories)
    images = [out / "timeline.png", out / "faces.png", out / "confidence.png"]
    notes = logs.notes + plot_timeline(summary, images[0], colours)
    plot_faces(summary, images[1], colours)
    plot_confidence(rows, images[2], colours)
    text = format_summary(summary, notes)
    print(text)
    write_html(summary, text, images, out / "report.html")
    print(f"\nwrote {out}/: report.html, timeline.png, faces.png, confidence.png", file=sys.stderr)
    return 0
