"""Words for people: counts with their noun, durations as a person says them."""

from __future__ import annotations

import math
import re


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


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """`text` with control characters written as escapes (ESC as \\x1b, a newline as \\n), so a file name cannot drive a
    terminal, break a table's lines or make an SVG invalid XML. Bidirectional overrides are escaped too; other text stays."""
    text = str(text)
    if text.isprintable():  # the usual case, at C speed
        return text
    return _UNSAFE.sub(lambda m: _NAMED.get(m[0]) or (f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}"), text)
