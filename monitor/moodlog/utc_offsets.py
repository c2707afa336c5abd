"""The UTC offsets a log's timestamps were written in, over time (a run across a daylight-saving change)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import numpy as np


def offset_text(offset: datetime.timezone) -> str:
    """'UTC+05:30' for a UTC offset."""
    minutes = int(offset.utcoffset(None).total_seconds() // 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class UtcOffsets:
    """A UTC offset, and the moments (UTC nanoseconds) from which another one held."""

    first: datetime.timezone = datetime.UTC
    changes: tuple[tuple[int, datetime.timezone], ...] = field(default_factory=tuple)  # (from this UTC ns on, offset), in time order

    def at_ns(self, ns: int) -> datetime.timezone:
        """The offset in effect at one moment."""
        offset = self.first
        for start, later in self.changes:
            if ns >= start:
                offset = later
            else:
                break
        return offset

    def at(self, t) -> datetime.timezone:
        """The offset in effect at a pandas Timestamp (or datetime) with a time zone."""
        return self.at_ns(int(t.value) if hasattr(t, "value") else int(t.timestamp() * 1e9))

    def local_ns(self, utc_ns: np.ndarray) -> np.ndarray:
        """Wall-clock nanoseconds (as if UTC) for an array of UTC nanoseconds, each with the offset of its moment."""
        utc_ns = np.asarray(utc_ns, dtype=np.int64)
        starts = np.array([0] + [s for s, _ in self.changes], dtype=np.int64)
        shifts = np.array([_offset_ns(o) for o in [self.first, *(o for _, o in self.changes)]], dtype=np.int64)
        which = np.searchsorted(starts[1:], utc_ns, side="right")
        return utc_ns + shifts[which]

    def utc_ns(self, wall_ns: int) -> int:
        """The earliest moment whose wall-clock reading is `wall_ns` (a time typed without an offset); in a gap, the first offset's."""
        candidates = [wall_ns - _offset_ns(o) for o in [self.first, *(o for _, o in self.changes)]]
        fitting = [c for c in candidates if _offset_ns(self.at_ns(c)) == wall_ns - c]
        return min(fitting) if fitting else candidates[0]

    def label(self, start=None, end=None) -> str:
        """'UTC+01:00', or 'UTC+02:00, then UTC+01:00' when the offset changed (between `start` and `end`, Timestamps, if given)."""
        if start is None or end is None:
            offsets = [self.first, *(o for _, o in self.changes)]
        else:
            offsets = [self.at(start), *(o for s, o in self.changes if start.value < s <= end.value)]
        return ", then ".join(offset_text(o) for o in offsets)


def _offset_ns(offset: datetime.timezone) -> int:
    return int(offset.utcoffset(None).total_seconds() * 1e9)
