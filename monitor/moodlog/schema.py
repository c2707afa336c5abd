"""The mood log's columns and rows: one row per face per frame, one empty row for a frame without a face."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # reading logs (the report) needs no OpenCV, and the schema alone no pandas
    from monitor.core.types import FrameResult


INTEGER_COLUMNS = ["frame", "face_id", "x", "y", "w", "h"]  # written as integers even in rows beside empty ones


BASE_COLUMNS = ["timestamp", "source", "frame", "stream_time_s", "face_id", "x", "y", "w", "h", "label", "confidence"]


TEXT_COLUMNS = ("source", "label")  # names a user chose (a video's file name, a class's folder name): never numbers


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet run a cell as a formula


QUOTE = "'"


def protect(text: str) -> str:
    """A text cell as the log holds it: a leading ' where the text starts with = + - @ tab or CR, or with '.

    A spreadsheet opening the log runs a cell starting with = + - @ tab or CR as a formula
    (a file named =HYPERLINK(...) or +cmd|calc.mp4): the ' makes it text (OWASP's rule for
    CSV injection). Text already starting with ' gets one too, so the reader undoes it exactly:
    it drops one leading ' from every text cell that has one (`unprotect`). Only the text
    columns (TEXT_COLUMNS) are written this way; numbers, negative ones too, stay numbers; the
    API's rows (`rows_for`) hold the text as it is.
    """
    return QUOTE + text if text.startswith(FORMULA_STARTS) or text.startswith(QUOTE) else text


def unprotect(text: str) -> str:
    """The text a log's text cell was written for (see `protect`)."""
    return text[1:] if text.startswith(QUOTE) else text


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
