"""Choosing rows for a report: --since/--until on the report's own clock, --face, --every."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from monitor.core.errors import UserError
from monitor.core.text import printable
from monitor.moodlog.utc_offsets import UtcOffsets
from monitor.report.runs import face_keys, first_of_frames

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a date alone, as --until takes a whole day


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
            raise UserError(printable(f"--face {face}: no such face in the chosen rows; the faces there are {listed or 'none'}"))
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


def check_range(since: pd.Timestamp | None, until: pd.Timestamp | None, given: tuple[str, str]) -> None:
    """A one-line error for --since after --until (`given`: the two values as typed), rather than "no log rows"."""
    if since is not None and until is not None and since > until:
        raise UserError(f"--since {given[0]} is after --until {given[1]}: the range is reversed; swap the two times")


def check_every(value: str | None) -> str | None:
    """--every as given, if pandas reads it as a positive time span."""
    if value is not None:
        try:
            if pd.tseries.frequencies.to_offset(value).nanos <= 0:
                raise ValueError
        except (ValueError, TypeError):
            raise UserError(f"--every {value!r}: not a time span; use e.g. 30s, 1min, 5min or 1h") from None
    return value


def parse_time(value: str | None, name: str, clock=None, end: bool = False) -> pd.Timestamp | None:
    """A --since/--until moment in UTC. Without an offset it is read on `clock`, the UTC offset the report shows its times in
    (the logs' own), so a time copied from the report means what it showed; with no clock given, this machine's local time.
    `end` (--until): a date alone means the whole of that day, up to its last moment, not its midnight."""
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise UserError(f"{name} {value!r}: not a date/time; use e.g. 2026-11-26T14:30 or '2026-11-26 14:30+01:00'") from None
    if end and DATE.fullmatch(value.strip()):
        t += pd.Timedelta(days=1) - pd.Timedelta(1, "us")  # its last microsecond (the finest a local time is read to)
    if t.tzinfo is None:
        if clock is not None and not isinstance(clock, UtcOffsets):
            clock = UtcOffsets(clock)  # a plain UTC offset
        t = pd.Timestamp(clock.utc_ns(t.value), tz="UTC") if clock is not None else pd.Timestamp(t.to_pydatetime().astimezone())
    return t.tz_convert("UTC")
