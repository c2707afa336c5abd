"""The numbers behind a report: shares, per run, per face, per picture, longest stretches, mood over time.

Everything is vectorised over integer codes, so a 10-hour log summarises in a moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from monitor.core.errors import UserError
from monitor.moodlog.utc_offsets import UtcOffsets
from monitor.report.runs import _changes, _extent, _lengths, _nanoseconds, _ns, _segments, _utc, face_keys, first_of_frames, source_kinds

GAP_S = 2.0  # a face unseen for longer than this starts a new stretch


MAX_BUCKETS = 2000  # bars a timeline may have in all; a finer --every is coarsened, with a note


CONFIDENCE_EDGES = np.linspace(0, 1, 41)  # the confidence histogram's bins


BUCKETS = ["1s", "2s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "6h", "12h", "1D"]


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
    offset: UtcOffsets = field(default_factory=UtcOffsets)
    pictures: pd.DataFrame | None = None  # picture -> faces, labels (photo logs)
    notes: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)  # every class of the logs' models (then any other label logged)
    picture_labels: pd.Series | None = None  # label -> faces on the pictures with it (photo logs)

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
    timed, is_timed, pictures, picture_labels, faces = rows, None, None, None, None
    if (sources["kind"] == "picture").any():  # single pictures have no time line: a table of their own
        faces = face_rows(rows, has_face)
        pictures = per_picture(rows, faces, sources)
        is_timed = run_kinds(rows, sources) != "picture"
        timed = rows[is_timed]
        on_pictures = np.bincount(labels_code[has_face & ~is_timed & (labels_code >= 0)], minlength=len(categories))
        picture_labels = pd.Series({c: int(on_pictures[categories.index(c)]) for c in labels}, dtype=int)
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
        offset=rows.attrs.get("offset") or UtcOffsets(),
        pictures=pictures,
        notes=notes,
        classes=[str(c) for c in categories],
        picture_labels=picture_labels,
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
    if "model" in info:  # from the logs' sidecars: which model and settings made each run
        out["model"], out["record"] = info["model"].fillna(""), info["record"]
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
