"""The mood log's columns and rows: one row per face per frame, one empty row for a frame without a face."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # reading logs (the report) needs no OpenCV, and the schema alone no pandas
    from monitor.core.types import FrameResult


INTEGER_COLUMNS = ["frame", "face_id", "x", "y", "w", "h"]  # written as integers even in rows beside empty ones


BASE_COLUMNS = ["timestamp", "source", "frame", "stream_time_s", "face_id", "x", "y", "w", "h", "label", "confidence"]


def columns_for(classes: tuple[str, ...] | list[str]) -> list[str]:
    """The log's columns for a model with these classes: the base columns, then p_<class> each."""
    return BASE_COLUMNS + [f"p_{c}" for c in classes]


def iso_timestamp(wall_time: float) -> str:
    """ISO 8601 local time with milliseconds and UTC offset, e.g. 2026-11-26T10:15:02.137+01:00."""
    return datetime.fromtimestamp(wall_time).astimezone().isoformat(timespec="milliseconds")


def rows_for(result: FrameResult, source: str, num_classes: int, timestamp: str | None = None) -> list[tuple]:
    """Log rows of one frame: one per face, or one row with empty face fields."""
    f = result.frame
    ts = timestamp or iso_timestamp(f.wall_time)
    head = (ts, source, f.index, round(f.stream_time_s, 3))
    if not result.faces:
        return [head + (None,) * (len(BASE_COLUMNS) - len(head) + num_classes)]
    return [
        head
        + (face.face_id, face.box.x, face.box.y, face.box.w, face.box.h, face.smoothed.label, round(face.smoothed.confidence, 4))
        + tuple(round(p, 4) for p in face.raw.probabilities)
        for face in result.faces
    ]
