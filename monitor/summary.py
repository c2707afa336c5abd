"""What mood logs say: read them, tell their runs apart, and summarise them (the numbers behind a report).

A log can hold several runs: logs appended to (the same video twice, a camera session each
morning) and several logs given together. Each run is reported on its own, in its own time:
a recorded video in video time from the moment its processing began, a camera or stream in
wall-clock time. The `--since`/`--until` filter uses that same clock, the one the report shows.

Reading is most of the cost for long sessions: only the seven needed columns are read, by
Arrow's CSV reader with the types given (`monitor.logfiles`, labels and sources as categories);
everything after is vectorised over integer codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitor import logfiles
from monitor.clock import Clock
from monitor.errors import UserError
from monitor.logfiles import NEEDED, RawLog

GAP_S = 2.0  # a face unseen for longer than this starts a new stretch
MAX_BUCKETS = 2000  # bars a timeline may have in all; a finer --every is coarsened, with a note
CONFIDENCE_EDGES = np.linspace(0, 1, 41)  # the confidence histogram's bins
BUCKETS = ["1s", "2s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "6h", "12h", "1D"]


@dataclass
class Logs:
    """The rows of one or more logs that could be read, what could not, and the runs they hold."""

    rows: pd.DataFrame  # NEEDED columns + log, run (category), fid (frame id), t (run's own time), media_s
    runs: pd.DataFrame  # run name -> source, kind (camera, stream, video, picture)
    notes: list[str] = field(default_factory=list)
    class_sets: dict[str, list[str]] = field(default_factory=dict)
    offset: Clock = field(default_factory=Clock)  # the first log's clock (its offsets): how times are shown


# ---------------------------------------------------------------- reading


def read_logs(paths: list[Path]) -> Logs:
    """Several logs (or folders of logs), read and combined (see `combine`)."""
    return combine(logfiles.read_all(paths))


def frame_of(log: RawLog, first_fid: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """One log's rows as the report uses them, and notes. UserError when nothing usable is in it.

    Frame ids start at `first_fid`, so several logs' frames stay apart. The log's Arrow table is
    let go of column by column as it is converted, so the peak stays near one copy of the data.
    """
    if log.table is not None:
        pool, table, columns = logfiles.arrow_pool(), log.table, {}
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
        df = _read_tolerant(log.text)
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
    """Logs as read by `logfiles.read_all`: the readable ones combined; unreadable ones become notes (all unreadable: error)."""
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
        run_tables.append(df.attrs.pop("runs"))
        frames.append(df)
        notes += n
        class_sets[log.path.name] = log.classes
        offset = offset or Clock(log.offset, log.changes)
    if not frames:
        raise UserError(errors[0] if len(errors) == 1 else "no readable log: " + "; ".join(errors))
    notes = [f"skipped {e}" for e in errors] + notes  # the others are reported; this one is named, and the run goes on
    if len({tuple(c) for c in class_sets.values()}) > 1:
        notes.append("logs come from models with different classes: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in class_sets.items()))
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
    offset: Clock = field(default_factory=Clock)
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
    counts = np.bincount(labels_code[has_face & (labels_code >= 0)], minlength=len(categories))
    labels = [c for c, n in zip(categories, counts) if n]
    total_faces = int(has_face.sum())
    shares = pd.Series({c: counts[categories.index(c)] / total_faces for c in labels}, dtype=float)
    sources = per_run(rows, first, has_face, runs, labels)
    notes = []
    longest = sources.loc[sources["kind"] != "picture", "seconds"].max() if (sources["kind"] != "picture").any() else 0.0
    every = every or auto_every(longest)
    n_buckets = float(((sources["kind"] != "picture") * (sources["seconds"] / pd.Timedelta(every).total_seconds() + 1)).sum())
    if n_buckets > MAX_BUCKETS:
        coarser = next((b for b in BUCKETS if n_buckets * pd.Timedelta(every) / pd.Timedelta(b) <= MAX_BUCKETS), BUCKETS[-1])
        notes.append(f"--every {every} would draw {int(n_buckets):,} bars; used {coarser} instead (at most {MAX_BUCKETS:,})")
        every = coarser
    timed, is_timed, pictures, faces = rows, None, None, None
    if (sources["kind"] == "picture").any():  # single pictures have no time line: a table of their own
        faces = face_rows(rows, has_face)
        pictures = per_picture(rows, faces, sources)
        is_timed = run_kinds(rows, sources) != "picture"
        timed = rows[is_timed]
    t = timed["t"]
    summary = Summary(
        span=(t.min(), t.max()) if len(timed) else (rows["t"].min(), rows["t"].max()),
        frames=int(first.sum()),
        frames_with_face=int(first_of_frames(fid[has_face]).sum()),
        shares=shares,
        stretches=pd.DataFrame(),
        buckets=mood_buckets(timed, every, labels, sources),
        faces=pd.DataFrame(),
        sources=sources,
        every=every,
        offset=rows.attrs.get("offset") or Clock(),
        pictures=pictures,
        notes=notes,
    )
    if faces is None:  # made after the buckets, so their temporaries and this copy are never held at once
        faces = face_rows(rows, has_face)
    summary.stretches = longest_stretches(faces if is_timed is None else faces[is_timed[has_face]], labels)
    summary.faces = per_face(faces, labels)
    return summary


def face_rows(rows: pd.DataFrame, has_face: np.ndarray) -> pd.DataFrame:
    """The rows with a face, in the columns the per-face numbers need (one copy)."""
    return rows.loc[has_face, ["run", "face_id", "label", "t", "confidence", "media_s"]]


def face_codes(run: np.ndarray, face_id: np.ndarray) -> np.ndarray:
    """One int64 per face row naming the face: its run's code in the top bits, its face id below."""
    key = run.astype(np.int64)
    key <<= 32
    key |= face_id.astype(np.int64)
    return key


def _face_codes_of(faces: pd.DataFrame) -> np.ndarray:
    return face_codes(faces["run"].cat.codes.to_numpy(), faces["face_id"].to_numpy())


def confidence_counts(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per label, how many face-frames fall in each bin of CONFIDENCE_EDGES (a label never shown is left out)."""
    has_face = rows["face_id"].notna().to_numpy()
    categories = list(rows["label"].cat.categories)
    bins = len(CONFIDENCE_EDGES) - 1
    scaled = rows["confidence"].to_numpy()[has_face] * np.float32(bins)
    index = np.nan_to_num(scaled, nan=0.0, copy=False).astype(np.int32)
    del scaled
    np.clip(index, 0, bins - 1, out=index)
    codes = rows["label"].cat.codes.to_numpy()[has_face]
    known = codes >= 0
    index += codes.astype(np.int32) * bins
    counts = np.bincount(index[known] if not known.all() else index, minlength=len(categories) * bins).reshape(-1, bins)
    return {label: counts[i] for i, label in enumerate(categories) if counts[i].any()}


def run_kinds(rows: pd.DataFrame, sources: pd.DataFrame) -> np.ndarray:
    """Each row's run kind (camera, stream, video, picture), through the run codes."""
    by_code = sources["kind"].reindex([str(c) for c in rows["run"].cat.categories]).to_numpy(object)
    return by_code[rows["run"].cat.codes.to_numpy()]


def per_run(rows: pd.DataFrame, first: np.ndarray, has_face: np.ndarray, runs: pd.DataFrame | None, labels: list[str]) -> pd.DataFrame:
    """Each run's source, kind, start, seconds (in its own time), frames, tracked faces, face-frames and label shares."""
    run = rows["run"].cat.codes.to_numpy()
    names = [str(c) for c in rows["run"].cat.categories]
    t = _ns(rows["t"])
    starts, seg_run = _segments(run)  # rows come in stretches of one run: reduce those, not a million rows
    lo, hi = _extent(t, starts, seg_run, len(names))
    present = np.flatnonzero(hi >= lo)
    out = pd.DataFrame({"start": _utc(lo[present]), "seconds": (hi[present] - lo[present]) / 1e9}, index=pd.Index([names[i] for i in present]))
    frames = np.zeros(len(names), np.int64)
    np.add.at(frames, seg_run, np.add.reduceat(first, starts))
    out["frames"] = frames[present]
    face_run = run[has_face].astype(np.int64)
    pairs = np.unique(_segments(face_codes(face_run, rows["face_id"].to_numpy()[has_face]))[1])  # (run, face id) seen
    out["faces"] = np.bincount(pairs >> 32, minlength=len(names))[present]
    k = len(rows["label"].cat.categories)
    face_run *= k
    face_run += rows["label"].cat.codes.to_numpy()[has_face]
    by_label = np.bincount(face_run, minlength=len(names) * k)
    by_label = by_label.reshape(len(names), k)[present]  # k is 0 when no face was ever seen
    out["face_frames"] = by_label.sum(axis=1)
    categories = list(rows["label"].cat.categories)
    for label in labels:
        out[label] = by_label[:, categories.index(label)] / np.maximum(out["face_frames"], 1)
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
    face_code = _face_codes_of(faces)
    t = _ns(faces["t"])
    lab = faces["label"].cat.codes.to_numpy()
    order = None  # one face: its rows are in time order already
    if len(_segments(face_code)[0]) > 1:
        order = np.lexsort((t, face_code))
        face_code, t, lab = face_code[order], t[order], lab[order]
    new = _changes(face_code, lab)
    del face_code
    new[1:] |= np.diff(t) > GAP_S * 1e9
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(t)) - 1
    row = starts if order is None else order[starts]
    runs = pd.DataFrame({"label": lab[starts], "seconds": (t[ends] - t[starts]) / 1e9, "start": t[starts], "row": row})
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
    run = rows["run"].cat.codes.to_numpy()
    names = [str(c) for c in rows["run"].cat.categories]
    run_is_video = sources["kind"].reindex(names).eq("video").to_numpy()
    media_ns = _nanoseconds(rows["media_s"].to_numpy()) if run_is_video.any() else None  # a camera-only log needs none
    # each row's bucket number (from the video's start, or by the clock), the run in its top bits
    if run_is_video.all():
        key = media_ns // step
    elif not run_is_video.any():
        key = t // step
    else:
        key = np.where(run_is_video[run], media_ns // step, t // step)
    if len(names) > 1:
        key |= run.astype(np.int64) << 42
    starts, seg_key = _segments(key)  # rows come in time order: a bucket is a stretch of rows, found without sorting them
    del key
    keys, seg_bucket = np.unique(seg_key, return_inverse=True)
    bucket = np.repeat(seg_bucket.astype(np.int32), _lengths(starts, len(t)))
    n = len(keys)
    fid = rows["fid"].to_numpy()
    first = first_of_frames(fid)
    has_face = rows["face_id"].notna().to_numpy()
    frames = np.bincount(bucket[first], minlength=n)
    with_face = np.bincount(bucket[first & has_face], minlength=n)  # a frame has face rows or one row without a face
    categories = list(rows["label"].cat.categories)
    k = len(categories)
    codes = rows["label"].cat.codes.to_numpy()[has_face].astype(np.int64)
    codes += bucket[has_face] * np.int64(k)
    del bucket
    # each face-row's label weighted so that a frame's faces together count as one frame (weights only where a frame has several)
    face_fid = fid[has_face]
    face_fid -= fid.min()
    in_frame = np.bincount(face_fid, minlength=1)
    weights = 1.0 / in_frame[face_fid] if in_frame.max(initial=0) > 1 else None
    del face_fid, in_frame
    by_label = np.bincount(codes, weights=weights, minlength=n * k).reshape(n, k)
    del codes, weights
    result = pd.DataFrame({label: by_label[:, categories.index(label)] / frames for label in labels})
    result["no face"] = 1.0 - with_face / frames
    result["frames"] = frames
    # where each bucket starts, and how wide it is: a run's last one only as long as the recording lasted in it
    key_run, key_index = keys >> 42, keys & ((1 << 42) - 1)
    seg_run = seg_key >> 42
    run_origin = np.zeros(len(names), np.int64)  # where a video's time 0 is on the run's clock
    if media_ns is not None:
        present, first_seg = np.unique(seg_run, return_index=True)
        run_origin[present] = t[starts[first_seg]] - media_ns[starts[first_seg]]
    run_end = _extent(t, starts, seg_run, len(names))[1]
    start = np.where(run_is_video[key_run], run_origin[key_run] + key_index * step, key_index * step)
    head = t[: 200_000][first[: 200_000]]  # one frame's time, from the first frames
    steps = np.diff(head)
    frame_s = float(np.median(steps[steps > 0])) / 1e9 if (steps > 0).any() else 0.0
    result["width_s"] = np.minimum(step / 1e9, (run_end[key_run] - start) / 1e9 + frame_s)
    result.index = pd.MultiIndex.from_arrays([[names[r] for r in key_run], _utc(start)], names=["source", "start"])
    return result


def per_face(faces: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Each tracked face: its frames, how long it was seen, its labels' shares and mean confidence (grouped by integer codes)."""
    if faces.empty:
        return pd.DataFrame(columns=["frames", "seconds", *labels, "mean confidence"])
    starts, seg_key = _segments(_face_codes_of(faces))  # a face's rows come in stretches: group those, not every row
    keys, seg_code = np.unique(seg_key, return_inverse=True)
    seg_code = seg_code.astype(np.int32)
    n, lengths = len(keys), _lengths(starts, len(faces))
    t = _ns(faces["t"])
    frames = np.bincount(seg_code, weights=lengths, minlength=n).astype(np.int64)
    first, last = _extent(t, starts, seg_code, n)
    k = len(faces["label"].cat.categories)
    codes = np.repeat(seg_code * k, lengths)
    codes += faces["label"].cat.codes.to_numpy()
    by_label = np.bincount(codes, minlength=n * k).reshape(n, k) / frames[:, None]
    del codes
    out = pd.DataFrame({"frames": frames, "seconds": (last - first) / 1e9})
    categories = list(faces["label"].cat.categories)
    for label in labels:
        out[label] = by_label[:, categories.index(label)]
    confidence = np.add.reduceat(faces["confidence"].to_numpy(np.float64), starts)
    out["mean confidence"] = np.bincount(seg_code, weights=confidence, minlength=n) / frames
    runs = [str(c) for c in faces["run"].cat.categories]
    several = len(np.unique(keys // (1 << 32))) > 1
    out.index = [f"{runs[key >> 32]}#{key & 0xFFFFFFFF}" if several else str(key & 0xFFFFFFFF) for key in keys]
    return out.sort_values("frames", ascending=False, kind="stable")




def check_every(value: str | None) -> str | None:
    """--every as given, if pandas reads it as a positive time span."""
    if value is not None:
        try:
            if pd.tseries.frequencies.to_offset(value).nanos <= 0:
                raise ValueError
        except (ValueError, TypeError):
            raise UserError(f"--every {value!r}: not a time span; use e.g. 30s, 1min, 5min or 1h") from None
    return value


def parse_time(value: str | None, name: str, clock=None) -> pd.Timestamp | None:
    """A --since/--until moment in UTC. Without an offset it is read on `clock`, the UTC offset the report shows its times in
    (the logs' own), so a time copied from the report means what it showed; with no clock given, this machine's local time."""
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise UserError(f"{name} {value!r}: not a date/time; use e.g. 2026-11-26T14:30 or '2026-11-26 14:30+01:00'") from None
    if t.tzinfo is None:
        if clock is not None and not isinstance(clock, Clock):
            clock = Clock(clock)  # a plain UTC offset
        t = pd.Timestamp(clock.utc_ns(t.value), tz="UTC") if clock is not None else pd.Timestamp(t.to_pydatetime().astimezone())
    return t.tz_convert("UTC")
