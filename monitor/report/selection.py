"""Choosing rows for a report: --since/--until on the report's own clock, --face, --every."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor.core.errors import UserError
from monitor.moodlog.utc_offsets import UtcOffsets
from monitor.report.runs import face_keys, first_of_frames


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
        if clock is not None and not isinstance(clock, UtcOffsets):
            clock = UtcOffsets(clock)  # a plain UTC offset
        t = pd.Timestamp(clock.utc_ns(t.value), tz="UTC") if clock is not None else pd.Timestamp(t.to_pydatetime().astimezone())
    return t.tz_convert("UTC")
