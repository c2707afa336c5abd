"""Reading mood logs into one table and telling their runs apart (appended sessions, several logs).

Each run is reported on its own, in its own time: a recorded video in video time from the
moment its processing began, a camera or stream in wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.core.errors import UserError
from monitor.moodlog import reader
from monitor.moodlog.reader import NEEDED, RawLog
from monitor.moodlog.utc_offsets import UtcOffsets
from monitor.report import provenance


@dataclass
class Logs:
    """The rows of one or more logs that could be read, what could not, and the runs they hold."""

    rows: pd.DataFrame  # NEEDED columns + log, run (category), fid (frame id), t (run's own time), media_s
    runs: pd.DataFrame  # run name -> source, kind (camera, stream, video, picture)
    notes: list[str] = field(default_factory=list)
    class_sets: dict[str, list[str]] = field(default_factory=dict)
    offset: UtcOffsets = field(default_factory=UtcOffsets)  # the first log's clock (its offsets): how times are shown


def read_logs(paths: list[Path]) -> Logs:
    """Several logs (or folders of logs), read and combined (see `combine`)."""
    return combine(reader.read_all(paths))


def frame_of(log: RawLog, first_fid: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """One log's rows as the report uses them, and notes. UserError when nothing usable is in it.

    Frame ids start at `first_fid`, so several logs' frames stay apart. The log's Arrow table is
    let go of column by column as it is converted, so the peak stays near one copy of the data.
    """
    if log.table is not None:
        pool, table, columns = reader.arrow_pool(), log.table, {}
        log.table = None
        for name in NEEDED:  # a column at a time, each freed from the table once converted
            column = table.column(name)
            table = table.drop_columns([name])
            columns[name] = column.to_pandas(memory_pool=pool)
            del column
        df = pd.DataFrame(columns, copy=False)
        del columns, table
        refused = log.refused
    else:
        df = reader.text_as_written(_read_tolerant(log.text))
        refused = df.attrs["refused"]
        df["timestamp"] = df["timestamp"].dt.as_unit("ns")
        log.text = None
    for col in ("source", "label"):
        if df[col].dtype != "category":
            df[col] = df[col].astype("category")
    notes = list(log.notes)
    lines = len(df) + refused
    # a row cut short by a crash has no label/confidence although it has a face id
    broken = df["timestamp"].isna() | df["frame"].isna() | (df["face_id"].notna() & (df["label"].isna() | df["confidence"].isna()))
    if broken.any() or refused:
        name = log.path.name
        notes.append(f"{name}: {int(broken.sum()) + refused} of {lines + log.cut} rows malformed (cut off or damaged) were left out")
        df = df[~broken.to_numpy()].reset_index(drop=True)
    if df.empty:
        raise UserError(f"{log.path}: no valid rows (all {lines} malformed); check that it is a mood log")
    df, runs = _runs_and_times(df, first_fid)
    df["log"] = pd.Categorical.from_codes(np.zeros(len(df), np.int8), [log.path.name])
    df.attrs["runs"] = runs
    return df, notes


NUMBERS = {"frame": "float64", "stream_time_s": "float64", "face_id": "float32", "confidence": "float32"}  # the numeric columns' dtypes


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
    """Nanoseconds since the epoch (UTC) of a column of times, without a copy when they are in ns already."""
    array = times.array
    return (array if array.unit == "ns" else array.as_unit("ns")).asi8


def source_kinds(sources) -> dict[str, str]:
    """'camera', 'stream' or 'file' for each source name, as the monitor read it."""
    from monitor.io.paths import parse_spec

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
    new_frame = _changes(src, frame, ts)
    fid = np.cumsum(new_frame)
    fid += first_fid - 1
    # runs: per source, in log order, a new run where frame numbers fall or a frame number repeats at another time
    one_source = src.min(initial=0) == src.max(initial=0)  # the usual case: no reordering, no copies
    order = None if one_source else np.argsort(src, kind="stable")
    s, f, t = (src, frame, ts) if one_source else (src[order], frame[order], ts[order])
    new_run = np.ones(n, bool)
    new_run[1:] = f[1:] < f[:-1]
    new_run[1:] |= (f[1:] == f[:-1]) & (t[1:] != t[:-1])
    if not one_source:
        new_run[1:] |= s[1:] != s[:-1]
    del f
    run = np.cumsum(new_run, dtype=np.int32)
    run -= 1
    if not one_source:
        run[order] = run.copy()
    origin = t[new_run]  # each run's start (wall time)
    run_start = np.minimum.reduceat(t, np.flatnonzero(new_run))
    run_source = s[new_run]
    del t, s, order
    categories = [str(c) for c in df["source"].cat.categories]
    kinds = source_kinds(categories)
    is_file = np.array([kinds[categories[c]] == "file" for c in run_source], bool)
    # in the run's own time: file rows from its start plus the position in the video, others as logged
    if is_file.any():
        shift = np.rint(np.nan_to_num(df["stream_time_s"].to_numpy(), nan=0.0) * 1e9).astype(np.int64)
        shift += origin[run]
        shift -= ts
        shift *= is_file[run]  # 0 for cameras and streams
        shift += ts  # now the time in the run
    else:
        shift = ts
    media_s = np.subtract(shift, origin[0] if len(origin) == 1 else origin[run])  # ns into the run (one temporary for one run)
    media_s = media_s / 1e9
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


def _changes(*columns: np.ndarray) -> np.ndarray:
    """True where a row differs from the one before in any of the columns (and on the first row)."""
    n = len(columns[0])
    out = np.ones(n, bool)
    if n > 1:
        np.not_equal(columns[0][1:], columns[0][:-1], out=out[1:])
        for c in columns[1:]:
            out[1:] |= c[1:] != c[:-1]
    return out


def _nanoseconds(seconds: np.ndarray) -> np.ndarray:
    """Seconds (float) as whole nanoseconds, with one temporary instead of three."""
    ns = seconds * 1e9
    np.rint(ns, out=ns)
    return ns.astype(np.int64)


def _segments(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each stretch of equal consecutive values starts, and its value."""
    starts = np.flatnonzero(_changes(codes))
    return starts, codes[starts]


def _lengths(starts: np.ndarray, n: int) -> np.ndarray:
    """How many rows each stretch (from `_segments`) holds, of `n` in all."""
    return np.diff(np.append(starts, n))


def _extent(t: np.ndarray, starts: np.ndarray, group: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the smallest and largest `t`, reduced over stretches (`group`: each stretch's group)."""
    lo, hi = np.full(groups, np.iinfo(np.int64).max), np.full(groups, np.iinfo(np.int64).min)
    np.minimum.at(lo, group, np.minimum.reduceat(t, starts))
    np.maximum.at(hi, group, np.maximum.reduceat(t, starts))
    return lo, hi


def combine(read: list[RawLog | UserError]) -> Logs:
    """Logs as read by `reader.read_all`: the readable ones combined; unreadable ones become notes (all unreadable: error)."""
    frames, run_tables, notes, class_sets, errors = [], [], [], {}, []
    next_fid, offset = 0, None
    for log in read:
        try:
            if isinstance(log, UserError):
                raise log
            df, n = frame_of(log, next_fid)
        except UserError as err:
            errors.append(str(err))
            continue
        next_fid = int(df["fid"].iloc[-1]) + 1
        run_tables.append(provenance.attach(df.attrs.pop("runs"), log.path))
        frames.append(df)
        notes += n
        class_sets[log.path.name] = log.classes
        offset = offset or UtcOffsets(log.offset, log.changes)
    if not frames:
        raise UserError(errors[0] if len(errors) == 1 else "no readable log: " + "; ".join(errors))
    notes = [f"skipped {e}" for e in errors] + notes  # the others are reported; this one is named, and the run goes on
    if len({tuple(c) for c in class_sets.values()}) > 1:
        notes.append("logs come from models with different classes: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in class_sets.items()))
    run_codes, runs = name_runs(frames, run_tables)
    if note := provenance.mixed_note(runs):
        notes.append(note)
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    rows["run"] = pd.Categorical.from_codes(run_codes, categories=list(runs.index))
    for col in ("source", "label", "log"):
        rows[col] = rows[col].astype("category")
    order = list(dict.fromkeys(c for classes in class_sets.values() for c in classes))  # the models' class order
    present = list(rows["label"].cat.categories)
    rows["label"] = rows["label"].cat.set_categories(order + [c for c in present if c not in order])  # a class never shown too
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
    return np.concatenate(codes), info[["source", "kind", "model", "settings", "record"]]


def face_keys(rows: pd.DataFrame) -> pd.Series:
    """A face's name: its id, prefixed by the run when several runs are in the logs."""
    ids = rows["face_id"].astype("Int64").astype("string")
    if rows["run"].nunique() > 1:
        ids = rows["run"].astype("string") + "#" + ids
    return ids
