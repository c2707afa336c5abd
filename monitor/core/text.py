"""Words for people: counts with their noun, durations as a person says them."""

from __future__ import annotations

import math


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 picture', '2 pictures', '1 face', '3 faces' ('many' for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def duration(seconds: float) -> str:
    """'0.4 s', '12.3 s', '4 min 05 s', '1 h 02 min': precise for short spans, whole units for long ones."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = int(round(seconds / 60))
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    hours = int(round(seconds / 3600))
    return f"{hours // 24} d {hours % 24:02d} h"
