"""Reviewing mood logs afterwards: read them, tell their runs apart, summarise, plot, write an HTML page and JSON.

A log can hold several runs: logs appended to (the same video twice, a camera session each
morning) and several logs given together. Each run is reported on its own, in its own time:
a recorded video in video time from the moment its processing began, a camera or stream in
wall-clock time. The `--since`/`--until` filter uses that same clock, the one the report shows.

Reading is most of the cost for long sessions: only the seven needed columns are read, by
Arrow's multi-threaded CSV reader with the types given (labels and sources as categories);
everything after is vectorised over integer codes.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitor import program
from monitor.errors import UserError
from monitor.moodlog import BASE_COLUMNS
from monitor.words import duration, plural

NEEDED = ["timestamp", "source", "frame", "stream_time_s", "face_id", "label", "confidence"]
GAP_S = 2.0  # a face unseen for longer than this starts a new stretch
MAX_BUCKETS = 2000  # bars a timeline may have in all; a finer --every is coarsened, with a note
BUCKETS = ["1s", "2s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "6h", "12h", "1D"]
OFFSET = re.compile(r"(?:([+-])(\d\d):?(\d\d)|Z)$")


@dataclass
class Logs:
    """The rows of one or more logs that could be read, what could not, and the runs they hold."""

    rows: pd.DataFrame  # NEEDED columns + log, run (category), fid (frame id), t (run's own time), media_s
    runs: pd.DataFrame  # run name -> source, kind (camera, stream, video, picture)
    notes: list[str] = field(default_factory=list)
    class_sets: dict[str, list[str]] = field(default_factory=dict)
    offset: datetime.timezone = datetime.UTC  # the UTC offset of the first log's times: how they are shown


# ---------------------------------------------------------------- reading


def log_files(paths: list[Path]) -> list[Path]:
    """The logs named: files as given, and for a folder (a batch run's --log) the CSV files in it."""
    out = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.glob("*.csv") if not f.name.startswith("."))
            if not found:
                raise UserError(f"{p}: no mood log (*.csv) in this folder; pass the folder a run wrote its logs to, or the logs")
            out += found
        else:
            out.append(p)
    return out


def read_log(path: Path, first_fid: int = 0) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One log: (rows, classes from its p_ columns, notes). UserError when nothing usable is in it.

    Malformed lines (a row cut by a crash, a row glued onto it by an old append) are left out
    and counted in a note; they never make the whole file unreadable. Frame ids start at
    `first_fid`, so several logs' frames stay apart.
    """
    if not path.is_file():
        raise UserError(f"{path}: log not found; pass the CSV written by `python -m monitor` (or the folder of a batch run's logs)")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path}: empty file; it holds no log rows")
    with path.open("rb") as f:
        head = f.read(1 << 16)
        f.seek(-1, 2)
        whole = f.read(1) == b"\n"
    try:
        lines_at_start = head.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        lines_at_start = []
    header = lines_at_start[0].split(",") if lines_at_start else []
    if not header or any(not c.isprintable() for c in header):
        raise UserError(f"{path}: not a mood log (not a readable CSV text file); pass the CSV written by `python -m monitor`")
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise UserError(f"{path}: not a mood log (missing columns {', '.join(missing)}); expected the columns {', '.join(BASE_COLUMNS)}")
    classes = [c[2:] for c in header if c.startswith("p_")]
    if len(lines_at_start) < 2 and size <= len(head):
        raise UserError(f"{path}: holds only its header: no rows were logged (the run saw no frame?)")
    notes = []
    end = size if whole else _last_newline(path, size) + 1  # a last line cut by a crash is not read at all
    if not whole:
        notes.append(f"{path.name}: the last line was cut off (the monitor was killed?) and was left out")
    df, refused = _read_rows(path, end)
    lines = len(df) + refused
    offset = _offset_of(lines_at_start[1] if len(lines_at_start) > 1 else "")
    # a row cut short by a crash has no label/confidence although it has a face id
    broken = df["timestamp"].isna() | df["frame"].isna() | (df["face_id"].notna() & (df["label"].isna() | df["confidence"].isna()))
    if broken.any() or refused:
        notes.append(f"{path.name}: {int(broken.sum()) + refused} of {lines + (not whole)} rows malformed (cut off or damaged) were left out")
        df = df[~broken.to_numpy()].reset_index(drop=True)
    if df.empty:
        raise UserError(f"{path}: no valid rows (all {lines} malformed); check that it is a mood log")
    df, runs = _runs_and_times(df, first_fid)
    df["log"] = pd.Categorical.from_codes(np.zeros(len(df), np.int8), [path.name])
    df.attrs["runs"] = runs
    df.attrs["offset"] = offset
    return df, classes, notes


NUMBERS = {"frame": "float64", "stream_time_s": "float64", "face_id": "float32", "confidence": "float32"}  # the numeric columns' dtypes


def _read_rows(path: Path, end: int) -> tuple[pd.DataFrame, int]:
    """The needed columns of the first `end` bytes, and how many lines were refused (wrong number of fields)."""
    import pyarrow as pa
    from pyarrow import csv

    types = {
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "source": pa.dictionary(pa.int32(), pa.string()),
        "label": pa.dictionary(pa.int32(), pa.string()),
        "frame": pa.float64(),
        "stream_time_s": pa.float64(),
        "face_id": pa.float32(),
        "confidence": pa.float32(),
    }
    refused = [0]

    def skip(_row) -> str:
        refused[0] += 1
        return "skip"

    def prefix() -> bytes:
        with path.open("rb") as f:
            return f.read(end)

    # the file by name (Arrow streams it); only a log cut by a crash is read into memory up to its last whole line
    source = str(path) if end == path.stat().st_size else pa.py_buffer(prefix())
    try:
        pool = pa.system_memory_pool()  # freed memory goes back to the system, so the peak stays low
        table = csv.read_csv(
            source if isinstance(source, str) else pa.BufferReader(source),
            parse_options=csv.ParseOptions(invalid_row_handler=skip),
            convert_options=csv.ConvertOptions(include_columns=NEEDED, column_types=types, strings_can_be_null=True),
            memory_pool=pool,
        )
        df = table.to_pandas(self_destruct=True, memory_pool=pool)
        del table
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a damaged value somewhere: read as text, coerce what is there
        df = _read_tolerant(prefix())
        refused[0] = df.attrs["refused"]
    df["timestamp"] = df["timestamp"].dt.as_unit("ns")
    for col in ("source", "label"):
        df[col] = df[col].astype("category")
    return df, refused[0]


def _read_tolerant(data: bytes) -> pd.DataFrame:
    """The needed columns as text, numbers and times coerced: a damaged value becomes missing instead of failing the file."""
    import io

    lines_in = data.count(b"\n") - 1
    df = pd.read_csv(
        io.BytesIO(data), usecols=NEEDED, dtype="string", on_bad_lines="skip", engine="c", encoding="utf-8", encoding_errors="replace"
    )
    df.attrs["refused"] = lines_in - len(df)
    for col, kind in NUMBERS.items():
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(kind)
    df["timestamp"] = pd.to_datetime(df["timestamp"], format="ISO8601", utc=True, errors="coerce")
    return df


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    """Times (UTC) from nanoseconds since the epoch, without parsing each value."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")


def first_of_frames(fid: np.ndarray) -> np.ndarray:
    """True on the first row of each processed frame (frame ids are in order in one log; several logs may interleave)."""
    if len(fid) and np.all(fid[1:] >= fid[:-1]):
        first = np.ones(len(fid), bool)
        first[1:] = fid[1:] != fid[:-1]
        return first
    return ~pd.Series(fid).duplicated().to_numpy()


def _ns(times: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (UTC) of a column of times, without copying per element."""
    return times.dt.as_unit("ns").array.asi8


def _last_newline(path: Path, size: int) -> int:
    """Offset of the file's last newline (-1 if none), read backwards in blocks."""
    with path.open("rb") as f:
        pos = size
        while pos > 0:
            start = max(0, pos - (1 << 16))
            f.seek(start)
            block = f.read(pos - start)
            i = block.rfind(b"\n")
            if i >= 0:
                return start + i
            pos = start
    return -1


def _offset_of(first_row: str) -> datetime.timezone:
    """The UTC offset the log was written in (its first timestamp's), to show times as the user's clock did."""
    m = OFFSET.search(first_row.split(",", 1)[0].strip())
    if not m or m.group(0) == "Z":
        return datetime.UTC
    sign = -1 if m.group(1) == "-" else 1
    return datetime.timezone(sign * datetime.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


def source_kinds(sources) -> dict[str, str]:
    """'camera', 'stream' or 'file' for each source name, as the monitor read it."""
    from monitor.paths import parse_spec

    return {str(s): parse_spec(str(s))[0] for s in sources}


def _runs_and_times(df: pd.DataFrame, first_fid: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows as the report uses them, and the runs of this log (source, kind, start).

    Rows get `run_in_log` (a run = one source from a start until its frame numbers start over),
    `fid` (one id per processed frame), `t` (when the row happened in its run's own time) and
    `media_s` (seconds into the run); the raw time columns are then no longer kept.

    A video file is measured in its own time (`stream_time_s`) from the moment its processing
    started, so an 8-second clip processed in 2 seconds spans 8 seconds; a camera or stream in
    wall time. The same file run twice into one log is two runs: its frame numbers fall back.
    """
    n = len(df)
    src = df["source"].cat.codes.to_numpy()
    frame = df["frame"].to_numpy()
    ts = _ns(df["timestamp"])
    # frames: consecutive rows of one source, frame number and time (the writer keeps a frame's faces together)
    new_frame = np.ones(n, bool)
    new_frame[1:] = (src[1:] != src[:-1]) | (frame[1:] != frame[:-1]) | (ts[1:] != ts[:-1])
    fid = np.cumsum(new_frame) + (first_fid - 1)
    # runs: per source, in log order, a new run where frame numbers fall or a frame number repeats at another time
    order = np.argsort(src, kind="stable") if src.min(initial=0) != src.max(initial=0) else np.arange(n)
    s, f, t = src[order], frame[order], ts[order]
    new_run = np.ones(n, bool)
    new_run[1:] = (s[1:] != s[:-1]) | (f[1:] < f[:-1]) | ((f[1:] == f[:-1]) & (t[1:] != t[:-1]))
    del f
    run = np.empty(n, np.int64)
    run[order] = np.cumsum(new_run) - 1
    origin = t[new_run]  # each run's start (wall time)
    run_start = np.minimum.reduceat(t, np.flatnonzero(new_run))
    del t, order
    categories = [str(c) for c in df["source"].cat.categories]
    kinds = source_kinds(categories)
    run_source = s[new_run]
    is_file = np.array([kinds[categories[c]] == "file" for c in run_source], bool)
    row_file = is_file[run]
    # in the run's own time: file rows from its start plus the position in the video, others as logged
    shift = np.rint(np.nan_to_num(df["stream_time_s"].to_numpy(), nan=0.0) * 1e9).astype(np.int64)
    shift += origin[run]
    shift -= ts
    shift *= row_file  # 0 for cameras and streams
    shift += ts  # now the time in the run
    media_s = (shift - origin[run]) / 1e9
    rows = pd.DataFrame(
        {
            "source": df["source"],
            "run_in_log": run,
            "fid": fid,
            "t": _utc(shift),
            "media_s": media_s,
            "face_id": df["face_id"],
            "label": df["label"],
            "confidence": df["confidence"],
        },
        copy=False,
    )
    frames = np.bincount(run[new_frame], minlength=len(origin))
    names = [categories[c] for c in run_source]
    runs = pd.DataFrame(
        {
            "source": names,
            "kind": [("picture" if nf == 1 else "video") if k else kinds[name] for name, k, nf in zip(names, is_file, frames)],
            "start": _utc(np.where(is_file, origin, run_start)),
        }
    )
    return rows, runs


def read_logs(paths: list[Path]) -> Logs:
    """Several logs (or folders of logs): the readable ones are combined; unreadable ones become notes (all unreadable: error)."""
    frames, run_tables, notes, class_sets, errors = [], [], [], {}, []
    next_fid = 0
    for path in log_files(list(paths)):
        try:
            df, classes, n = read_log(Path(path), next_fid)
        except UserError as err:
            errors.append(str(err))
            continue
        next_fid = int(df["fid"].iloc[-1]) + 1
        run_tables.append(df.attrs.pop("runs"))
        frames.append(df)
        notes += n
        class_sets[Path(path).name] = classes
    if not frames:
        raise UserError(errors[0] if len(errors) == 1 else "no readable log: " + "; ".join(errors))
    notes = errors + notes
    if len({tuple(c) for c in class_sets.values()}) > 1:
        notes.append("logs come from models with different classes: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in class_sets.items()))
    offset = frames[0].attrs["offset"]
    run_codes, runs = name_runs(frames, run_tables)
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    rows["run"] = pd.Categorical.from_codes(run_codes, categories=list(runs.index))
    for col in ("source", "label", "log"):
        rows[col] = rows[col].astype("category")
    order = list(dict.fromkeys(c for classes in class_sets.values() for c in classes))  # the models' class order
    present = list(rows["label"].cat.categories)
    rows["label"] = rows["label"].cat.set_categories([c for c in order if c in present] + [c for c in present if c not in order])
    if not rows["t"].is_monotonic_increasing:  # several logs, or clock changes
        rows = rows.sort_values("t", kind="stable", ignore_index=True)
    rows.attrs["offset"] = offset
    return Logs(rows, runs, notes, class_sets, offset)


def name_runs(frames: list[pd.DataFrame], tables: list[pd.DataFrame]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's run code across the logs, and the runs: a source's name, with '(run k)' when it was run more than once."""
    codes, base = [], 0
    for df, runs in zip(frames, tables):
        codes.append(df["run_in_log"].to_numpy() + base)
        base += len(runs)
    info = pd.concat(tables, ignore_index=True)
    count = info.groupby("source")["source"].transform("size")
    k = info.sort_values("start", kind="stable").groupby("source").cumcount().reindex(info.index) + 1
    info.index = [s if c == 1 else f"{s} (run {i})" for s, c, i in zip(info["source"], count, k)]
    return np.concatenate(codes), info[["source", "kind"]]


def filter_rows(rows: pd.DataFrame, since=None, until=None, face: str | None = None) -> pd.DataFrame:
    """Rows between `since` and `until` on the report's own clock (video time for files), and one face's if `face` is given."""
    if since is not None:
        rows = rows[rows["t"] >= since]
    if until is not None:
        rows = rows[rows["t"] <= until]
    if face is not None:
        keys = face_keys(rows)
        frame_has_face = (keys == face).fillna(False).to_numpy(bool)
        if not frame_has_face.any():
            known = sorted(set(keys.dropna()), key=lambda k: (len(k), k))
            listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise UserError(f"--face {face}: no such face in the chosen rows; the faces there are {listed or 'none'}")
        # keep that face's rows; other frames count as "face absent"
        fid = rows["fid"].to_numpy()
        absent = ~np.isin(fid, fid[frame_has_face])
        first_of_frame = first_of_frames(fid)
        empty = rows[absent & first_of_frame].copy()
        empty[["face_id", "confidence"]] = np.nan
        empty["label"] = pd.NA
        categories = rows["label"].cat.categories
        rows = pd.concat([rows[frame_has_face], empty]).sort_values("t", kind="stable")
        rows["label"] = pd.Categorical(rows["label"], categories=categories)
    return rows


def face_keys(rows: pd.DataFrame) -> pd.Series:
    """A face's name: its id, prefixed by the run when several runs are in the logs."""
    ids = rows["face_id"].astype("Int64").astype("string")
    if rows["run"].nunique() > 1:
        ids = rows["run"].astype("string") + "#" + ids
    return ids


# ---------------------------------------------------------------- summarising


@dataclass
class Summary:
    span: tuple[pd.Timestamp, pd.Timestamp]  # first and last moment recorded (video time for files)
    frames: int
    frames_with_face: int
    shares: pd.Series  # label -> share of face-frames
    stretches: pd.DataFrame  # label -> longest continuous stretch: seconds, start, face, source (the run), at_s
    buckets: pd.DataFrame  # (run, bucket start) -> share of frames per label and "no face", frames, width_s
    faces: pd.DataFrame  # face -> frames, seconds, label shares, mean confidence
    sources: pd.DataFrame  # run -> source, kind, start, seconds, frames, faces, face_frames, share per label
    every: str = "1min"
    offset: datetime.timezone = datetime.UTC
    pictures: pd.DataFrame | None = None  # picture -> faces, labels (photo logs)
    notes: list[str] = field(default_factory=list)

    @property
    def timed(self) -> pd.DataFrame:
        """The runs that have a time line (not single pictures)."""
        return self.sources[self.sources["kind"] != "picture"]


def auto_every(seconds: float, most: int = 60) -> str:
    """The smallest usual bucket that shows `seconds` of recording in at most `most` bars."""
    for every in BUCKETS:
        if seconds / pd.Timedelta(every).total_seconds() <= most:
            return every
    return BUCKETS[-1]


def summarise(rows: pd.DataFrame, every: str | None = None, runs: pd.DataFrame | None = None) -> Summary:
    """All the numbers of a report, from the rows of the logs (bucket size from the longest run when `every` is None)."""
    if rows.empty:
        raise UserError("no log rows in the chosen time range or face; widen --since/--until or check --face")
    fid = rows["fid"].to_numpy()
    first = first_of_frames(fid)
    has_face = rows["face_id"].notna().to_numpy()
    labels_code = rows["label"].cat.codes.to_numpy()
    categories = list(rows["label"].cat.categories)
    faces = rows.loc[has_face, ["run", "face_id", "label", "t", "confidence", "media_s"]]  # one copy, of the columns needed
    counts = np.bincount(labels_code[has_face & (labels_code >= 0)], minlength=len(categories))
    labels = [c for c, n in zip(categories, counts) if n]
    total_faces = int(has_face.sum())
    shares = pd.Series({c: counts[categories.index(c)] / total_faces for c in labels}, dtype=float)
    sources = per_run(rows, first, faces, runs, labels)
    notes = []
    longest = sources.loc[sources["kind"] != "picture", "seconds"].max() if (sources["kind"] != "picture").any() else 0.0
    every = every or auto_every(longest)
    n_buckets = float(((sources["kind"] != "picture") * (sources["seconds"] / pd.Timedelta(every).total_seconds() + 1)).sum())
    if n_buckets > MAX_BUCKETS:
        coarser = next((b for b in BUCKETS if n_buckets * pd.Timedelta(every) / pd.Timedelta(b) <= MAX_BUCKETS), BUCKETS[-1])
        notes.append(f"--every {every} would draw {int(n_buckets):,} bars; used {coarser} instead (at most {MAX_BUCKETS:,})")
        every = coarser
    timed, timed_faces, pictures = rows, faces, None
    if (sources["kind"] == "picture").any():  # single pictures have no time line: a table of their own
        pictures = per_picture(rows, faces, sources)
        is_timed = run_kinds(rows, sources) != "picture"
        timed, timed_faces = rows[is_timed], faces[is_timed[has_face]]
    t = timed["t"]
    return Summary(
        span=(t.min(), t.max()) if len(timed) else (rows["t"].min(), rows["t"].max()),
        frames=int(first.sum()),
        frames_with_face=int(first_of_frames(fid[has_face]).sum()),
        shares=shares,
        stretches=longest_stretches(timed_faces, labels),
        buckets=mood_buckets(timed, every, labels, sources),
        faces=per_face(faces, labels),
        sources=sources,
        every=every,
        offset=rows.attrs.get("offset", datetime.UTC),
        pictures=pictures,
        notes=notes,
    )


def run_kinds(rows: pd.DataFrame, sources: pd.DataFrame) -> np.ndarray:
    """Each row's run kind (camera, stream, video, picture), through the run codes."""
    by_code = sources["kind"].reindex([str(c) for c in rows["run"].cat.categories]).to_numpy(object)
    return by_code[rows["run"].cat.codes.to_numpy()]


def per_run(rows: pd.DataFrame, first: np.ndarray, faces: pd.DataFrame, runs: pd.DataFrame | None, labels: list[str]) -> pd.DataFrame:
    """Each run's source, kind, start, seconds (in its own time), frames, tracked faces, face-frames and label shares."""
    g = rows.groupby("run", observed=True, sort=False)
    out = pd.DataFrame({"start": g["t"].min(), "seconds": (g["t"].max() - g["t"].min()).dt.total_seconds()})
    run = rows["run"].cat.codes.to_numpy().astype(np.int64)
    out["frames"] = np.bincount(run[first], minlength=len(rows["run"].cat.categories))[out.index.codes]
    out["faces"] = faces.groupby("run", observed=True)["face_id"].nunique().reindex(out.index).fillna(0).astype(int)
    face_run, k = faces["run"].cat.codes.to_numpy().astype(np.int64), len(rows["label"].cat.categories)
    by_label = np.bincount(face_run * k + faces["label"].cat.codes.to_numpy(), minlength=len(rows["run"].cat.categories) * k)
    by_label = by_label.reshape(-1, k)[out.index.codes]
    out["face_frames"] = by_label.sum(axis=1)
    categories = list(rows["label"].cat.categories)
    for label in labels:
        out[label] = by_label[:, categories.index(label)] / np.maximum(out["face_frames"], 1)
    out.index = out.index.astype(str)
    if runs is not None:
        info = runs.reindex(out.index)
    else:  # rows made by hand: kinds from the sources
        src = rows.groupby("run", observed=True)["source"].first().astype(str)
        src.index = src.index.astype(str)
        kinds = source_kinds(src.unique())
        info = pd.DataFrame(
            {"source": src, "kind": [("picture" if out.loc[r, "frames"] == 1 else "video") if kinds[s] == "file" else kinds[s] for r, s in src.items()]}
        ).reindex(out.index)
    out.insert(0, "kind", info["kind"])
    out.insert(0, "source", info["source"])
    return out.sort_values("start", kind="stable")


def per_picture(rows: pd.DataFrame, faces: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Photo logs: each picture's faces and their labels (no time line: a folder of photos is no recording)."""
    names = [str(c) for c in rows["run"].cat.categories]
    pictures = [n for n in sources.index if sources.loc[n, "kind"] == "picture"]
    on_picture = faces[np.isin(faces["run"].cat.codes.to_numpy(), [names.index(n) for n in pictures])]
    g = on_picture.groupby("run", observed=True)
    out = pd.DataFrame(index=pd.Index(pictures))
    count = g.size()
    count.index = count.index.astype(str)
    labels = g["label"].agg(lambda s: ", ".join(str(v) for v in s))
    labels.index = labels.index.astype(str)
    conf = g["confidence"].mean()
    conf.index = conf.index.astype(str)
    out["faces"] = count.reindex(out.index).fillna(0).astype(int)
    found = {str(k): str(v) for k, v in labels.items()}
    out["labels"] = [found.get(name, "(no face)") for name in out.index]
    out["mean confidence"] = conf.reindex(out.index)
    return out


def longest_stretches(faces: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per label, the longest time one face kept that (smoothed) label without a gap over GAP_S.

    Times are the run's own (`t`: video time for files). Works on integer codes and int64
    times, so a million rows take well under a second.
    """
    if faces.empty:
        return pd.DataFrame(columns=["seconds", "start", "face", "source", "at_s"])
    face_code = faces["run"].cat.codes.to_numpy().astype(np.int64) * (1 << 32) + faces["face_id"].to_numpy().astype(np.int64)
    t = _ns(faces["t"])
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
            "start": _utc(best["start"].to_numpy()),
            "face": face_keys(first_rows).to_numpy(),
            "source": first_rows["run"].astype(str).to_numpy(),
            "at_s": first_rows["media_s"].to_numpy(),
        },
        index=[categories[c] for c in best["label"]],
    )
    return out.reindex([label for label in labels if label in out.index])


def mood_buckets(rows: pd.DataFrame, every: str, labels: list[str], sources: pd.DataFrame) -> pd.DataFrame:
    """Per run and time bucket: share of processed frames showing each label, and with no face; frames; the bucket's width.

    Files are bucketed from the video's start, cameras by the clock. Buckets with no processed
    frame (nothing recorded) are absent, not zero; a run's last bucket is as wide as the run lasted in it.
    """
    if rows.empty:
        return pd.DataFrame(columns=[*labels, "no face", "frames", "width_s"], index=pd.MultiIndex.from_tuples([], names=["source", "start"]))
    step = pd.Timedelta(every).value
    t = _ns(rows["t"])
    run = rows["run"].cat.codes.to_numpy().astype(np.int64)
    names = [str(c) for c in rows["run"].cat.categories]
    run_is_video = sources["kind"].reindex(names).eq("video").to_numpy()
    is_video = run_is_video[run]
    media_ns = np.rint(rows["media_s"].to_numpy() * 1e9).astype(np.int64)
    origin = t - media_ns
    index = np.where(is_video, media_ns // step, t // step)  # bucket number: from the video's start, or by the clock
    bucket_codes, keys = pd.factorize(run * (1 << 42) + index, sort=True)
    n = len(keys)
    fid = rows["fid"].to_numpy()
    dense = fid - fid.min()  # frame ids from 0: a frame's faces are counted with bincount
    first = first_of_frames(fid)
    has_face = rows["face_id"].notna().to_numpy()
    faces_in_frame = np.bincount(dense[has_face], minlength=dense.max() + 1)
    frames = np.bincount(bucket_codes[first], minlength=n)
    with_face = np.bincount(bucket_codes[first & (faces_in_frame[dense] > 0)], minlength=n)
    # each face-row's label weighted so that a frame's faces together count as one frame
    weights = 1.0 / np.maximum(faces_in_frame[dense[has_face]], 1)
    codes = rows["label"].cat.codes.to_numpy().astype(np.int64)[has_face]
    categories = list(rows["label"].cat.categories)
    k = len(categories)
    by_label = np.bincount(bucket_codes[has_face] * k + codes, weights=weights, minlength=n * k).reshape(n, k)
    result = pd.DataFrame({label: by_label[:, categories.index(label)] / frames for label in labels})
    result["no face"] = 1.0 - with_face / frames
    result["frames"] = frames
    # where each bucket starts, and how wide it is: a run's last one only as long as the recording lasted in it
    key_run, key_index = keys // (1 << 42), keys % (1 << 42)
    run_origin = pd.Series(origin).groupby(run).first()
    start = np.where(run_is_video[key_run], run_origin.reindex(key_run).to_numpy() + key_index * step, key_index * step)
    run_end = pd.Series(t).groupby(run).max().reindex(key_run).to_numpy()
    steps = np.diff(t[first])
    frame_s = float(np.median(steps[steps > 0])) / 1e9 if (steps > 0).any() else 0.0  # one frame's time
    result["width_s"] = np.minimum(step / 1e9, (run_end - start) / 1e9 + frame_s)
    result.index = pd.MultiIndex.from_arrays([[names[r] for r in key_run], _utc(start)], names=["source", "start"])
    return result


def per_face(faces: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Each tracked face: its frames, how long it was seen, its labels' shares and mean confidence (grouped by integer codes)."""
    if faces.empty:
        return pd.DataFrame(columns=["frames", "seconds", *labels, "mean confidence"])
    run = faces["run"].cat.codes.to_numpy().astype(np.int64)
    codes, keys = pd.factorize(run * (1 << 32) + faces["face_id"].to_numpy().astype(np.int64))
    n, label_codes = len(keys), faces["label"].cat.codes.to_numpy().astype(np.int64)
    t = _ns(faces["t"])
    frames = np.bincount(codes, minlength=n)
    first, last = np.full(n, np.iinfo(np.int64).max), np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, t)
    np.maximum.at(last, codes, t)
    k = len(faces["label"].cat.categories)
    by_label = np.bincount(codes * k + label_codes, minlength=n * k).reshape(n, k) / frames[:, None]
    out = pd.DataFrame({"frames": frames, "seconds": (last - first) / 1e9})
    categories = list(faces["label"].cat.categories)
    for label in labels:
        out[label] = by_label[:, categories.index(label)]
    out["mean confidence"] = np.bincount(codes, weights=faces["confidence"].to_numpy(np.float64), minlength=n) / frames
    runs = [str(c) for c in faces["run"].cat.categories]
    several = len(np.unique(keys // (1 << 32))) > 1
    out.index = [f"{runs[key >> 32]}#{key & 0xFFFFFFFF}" if several else str(key & 0xFFFFFFFF) for key in keys]
    return out.sort_values("frames", ascending=False, kind="stable")


# ---------------------------------------------------------------- text and JSON


def clock(t: pd.Timestamp, offset: datetime.timezone) -> str:
    """A moment as the log's own clock showed it."""
    return f"{t.tz_convert(offset):%Y-%m-%d %H:%M:%S}"


def utc_offset(offset: datetime.timezone) -> str:
    minutes = int(offset.utcoffset(None).total_seconds() // 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


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


def format_summary(s: Summary, notes: list[str]) -> str:
    pct = lambda v: f"{100 * v:.1f} %"  # noqa: E731
    kinds = set(s.sources["kind"])
    lines = []
    if kinds != {"picture"}:
        own = " (videos in their own time)" if "video" in kinds else ""
        lines.append(
            f"span        {clock(s.span[0], s.offset)} .. {clock(s.span[1], s.offset)} {utc_offset(s.offset)}, "
            f"{duration((s.span[1] - s.span[0]).total_seconds())}{own}"
        )
    lines += [
        f"sources     {describe_sources(s.sources)}",
        f"frames      {s.frames}, with a face {s.frames_with_face} ({pct(s.frames_with_face / s.frames)})",
        "face time   " + ", ".join(f"{k} {pct(v)}" for k, v in s.shares.items()),
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
            lines.append(f"  {label:<10} {duration(r['seconds']):>12}  from {where}  face {r['face']}")
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
                "start": r["start"].tz_convert(s.offset).isoformat(timespec="milliseconds"),
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


def plot_timeline(s: Summary, path: Path, colours: dict[str, str]) -> list[str]:
    """One row per run: the mood per bucket, in video time for files and clock time for cameras.

    Returns notes (runs left out of the picture when there are many).
    """
    import matplotlib.pyplot as plt

    timed = s.timed
    shown = timed.sort_values("frames", ascending=False).head(MAX_TIMELINES)
    notes = []
    if len(shown) < len(timed):
        notes.append(f"the timeline shows the {len(shown)} runs with most frames of {len(timed)}")
    rows = list(shown.index)
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.2 + 2.2 * len(rows)), squeeze=False)
    labels = [c for c in s.buckets.columns if c not in ("frames", "no face", "width_s")]
    for ax, run in zip(axes[:, 0], rows):
        b = s.buckets.xs(run, level="source")
        if shown.loc[run, "kind"] == "video":
            x, width = (b.index - shown.loc[run, "start"]).total_seconds(), b["width_s"].to_numpy()
            ax.set_xlabel(f"seconds into {run}")
        else:
            x = b.index.tz_convert(s.offset).tz_localize(None)
            width = b["width_s"].to_numpy() / 86_400  # matplotlib dates are in days
            what = f"camera {shown.loc[run, 'source']}" if shown.loc[run, "kind"] == "camera" else run
            ax.set_xlabel(f"time ({utc_offset(s.offset)}), {what}")
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
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.4 * max(1, len(f))))
    left = np.zeros(len(f))
    names = [str(k) for k in f.index]
    for label in labels:
        ax.barh(names, f[label], left=left, color=colours.get(label), label=label)
        left += f[label].to_numpy()
    for i, (_, r) in enumerate(f.iterrows()):
        ax.text(1.01, i, f"{int(r['frames'])} frames, {duration(r['seconds'])}", va="center", fontsize=8)
    ax.set_xlim(0, 1.35)
    ax.invert_yaxis()
    ax.set_xlabel("share of the face's frames")
    ax.set_title("Per face")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars, never over one
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confidence(rows: pd.DataFrame, path: Path, colours: dict[str, str]) -> None:
    import matplotlib.pyplot as plt

    has_face = rows["face_id"].notna().to_numpy()
    codes = rows["label"].cat.codes.to_numpy()[has_face]
    conf = rows["confidence"].to_numpy()[has_face]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(0, 1, 41)
    for code, label in enumerate(rows["label"].cat.categories):
        values = conf[codes == code]
        if len(values):
            counts, _ = np.histogram(values, bins=bins)
            ax.stairs(counts, bins, fill=True, alpha=0.6, color=colours.get(label), label=label)
    ax.set_xlabel("confidence of the shown label")
    ax.set_ylabel("face-frames")
    ax.set_title("Confidence")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_picture_counts(s: Summary, path: Path, colours: dict[str, str]) -> None:
    """Photo logs: how many faces got each label."""
    import matplotlib.pyplot as plt

    total = int(s.pictures["faces"].sum())
    counts = (s.shares * total).round().astype(int)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.4 * max(1, len(counts))))
    ax.barh(list(counts.index), counts.to_numpy(), color=[colours.get(label) for label in counts.index])
    for i, n in enumerate(counts.to_numpy()):
        ax.text(n, i, f" {n}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel("faces")
    ax.set_title(f"Labels of the faces in {plural(len(s.pictures), 'picture')}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def label_colours(labels) -> dict[str, str]:
    """Matplotlib colours matching the overlay's (BGR there, RGB hex here)."""
    from monitor.colours import NAMED_COLOURS, PALETTE

    out = {}
    for i, label in enumerate(labels):
        b, g, r = NAMED_COLOURS.get(str(label).lower(), PALETTE[i % len(PALETTE)])
        out[str(label)] = f"#{r:02x}{g:02x}{b:02x}"
    return out


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


def write_html(s: Summary, text: str, images: list[Path], path: Path) -> None:
    """One self-contained page (pictures embedded), so it opens offline and can be mailed."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Mood report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "td:first-child{text-align:left}</style></head><body>",
        f"<h1>Mood report</h1><p>{html.escape(plural(len(s.sources), 'run'))}: {html.escape(describe_sources(s.sources, most=None))}</p>",
    ]
    for img in images:
        data = base64.b64encode(img.read_bytes()).decode()
        parts.append(f"<p><img alt='{img.stem}' src='data:image/png;base64,{data}' style='max-width:100%'></p>")
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
    p.add_argument("logs", nargs="+", type=Path, help="mood log CSV files written by python -m monitor, or folders of them")
    p.add_argument("--out", type=Path, help="folder for the pictures and report.html (default: next to the first log)")
    p.add_argument("--every", help="time bucket for the mood timeline, e.g. 10s, 1min, 5min, 1h (default: from the recording's length)")
    p.add_argument("--face", help="only this face id (as printed in the per-face table)")
    p.add_argument("--since", help="only rows at or after this time, as the report shows it (ISO 8601; local time if no offset)")
    p.add_argument("--until", help="only rows at or before this time")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (runs, then overall shares) instead of text")
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
    summary = summarise(rows, args.every, logs.runs)
    first = args.logs[0].resolve()
    out = args.out or (first / "report" if first.is_dir() else first.parent / f"{first.stem}-report")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create the report folder ({err.strerror}); pass a writable --out") from None
    import matplotlib

    matplotlib.use("Agg")
    colours = label_colours(rows["label"].cat.categories)
    notes = list(logs.notes)
    images = []
    if len(summary.timed):
        images.append(out / "timeline.png")
        notes += plot_timeline(summary, images[-1], colours)
    if summary.pictures is not None:
        images.append(out / "pictures.png")
        plot_picture_counts(summary, images[-1], colours)
    if len(summary.faces) and len(summary.timed):
        images.append(out / "faces.png")
        plot_faces(summary, images[-1], colours)
    if summary.frames_with_face:
        images.append(out / "confidence.png")
        plot_confidence(rows, images[-1], colours)
    text = format_summary(summary, notes)
    write_html(summary, text, images, out / "report.html")  # the files first: a closed pipe must not cost them
    print(f"wrote {out}/: report.html, {', '.join(p.name for p in images)}", file=sys.stderr)
    print(json.dumps({**summary_json(summary), "notes": [*summary.notes, *notes]}) if args.json else text, flush=True)
    return 0
