"""Writing the mood log: appended row by row, flushed at least once a second, never a lost or half row."""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.errors import UserError
from monitor.moodlog.schema import INTEGER_COLUMNS, TEXT_COLUMNS, columns_for, protect

if TYPE_CHECKING:  # reading logs (the report) needs no OpenCV, and the schema alone no pandas
    pass


def _import_pandas_in_the_background() -> None:
    """Start importing pandas on a thread, so the first write does not stop a live view.

    pandas takes about a third of a second to import; the monitor starts without it (the
    first annotated frame comes sooner), and the first flush, a second into the run, would
    otherwise freeze the picture while it loads (about 10 camera frames dropped at once).
    """
    import sys
    import threading

    if "pandas" not in sys.modules:
        threading.Thread(target=__import__, args=("pandas",), name="import-pandas", daemon=True).start()


class MoodLog:
    """Appends rows to a CSV log; use as a context manager so the last rows are always written."""

    def __init__(self, path: str | Path, classes: tuple[str, ...], flush_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self.classes = tuple(classes)
        self.columns = columns_for(classes)
        self.flush_every_s = flush_every_s
        self._rows: list[tuple] = []
        self._last_flush = time.monotonic()
        self._fd: int | None = None
        self.rows_written = 0

    def __enter__(self) -> MoodLog:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Create the file with a header, or check an existing one has the same columns.

        A log whose last line was cut (a crash or a full disk mid-write) gets that line ended
        first, so the rows appended now stay whole; the report skips the cut row and counts it.
        """
        from monitor.io.paths import ensure_folder

        if self.path.is_dir():
            raise UserError(f"{self.path}: is a folder; pass a file name for --log (e.g. {self.path / 'mood.csv'})")
        head = _head(self.path) if self.path.is_file() else b""
        existing = bool(head.removeprefix(BOM))  # a file holding only a BOM (a spreadsheet's empty "CSV UTF-8") is a new log
        if existing:
            header = _header(head)
            if header is None:
                raise UserError(
                    f"{self.path}: not a mood log (it does not start with a line of CSV text: a video, a picture?); "
                    "it was left untouched: pass a .csv path for --log"
                )
            if header != self.columns:
                raise UserError(
                    f"{self.path}: existing log has other columns ({_excerpt(', '.join(header))}); "
                    "it was left untouched: pass another --log to start a new one"
                )
        ensure_folder(self.path.parent, "--log", self.path)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            raise UserError(f"{self.path}: cannot write the mood log ({err.strerror}); pass a writable --log path") from None
        if not existing:
            self._write(",".join(self.columns) + "\n")
        elif not _ends_with_newline(self.path):
            self._write("\n")
        _import_pandas_in_the_background()

    def add(self, rows: list[tuple]) -> None:
        """Buffer rows; they reach the file within `flush_every_s` seconds."""
        self._rows.extend(rows)
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        import pandas as pd

        self._last_flush = time.monotonic()
        if not self._rows or self._fd is None:
            return
        # object columns: Arrow-backed strings (pandas 3 with pyarrow) cannot hold a non-UTF-8 file name
        frame = pd.DataFrame(self._rows, columns=self.columns, dtype=object).astype(dict.fromkeys(INTEGER_COLUMNS, "Int64"))
        cr = False
        for column in TEXT_COLUMNS:
            frame[column] = pd.Series([protect(v) if isinstance(v, str) else v for v in frame[column]], frame.index, object)
            cr = cr or any(isinstance(v, str) and "\r" in v for v in frame[column])
        if cr:  # a CR in a name: the csv module quotes a CR only when it ends lines; each row then ends in \n again
            text = "".join(frame.iloc[[i]].to_csv(header=False, index=False, lineterminator="\r\n")[:-2] + "\n" for i in range(len(frame)))
        else:
            text = frame.to_csv(header=False, index=False, lineterminator="\n")
        self._write(text)
        self.rows_written += len(self._rows)
        self._rows.clear()

    def _write(self, text: str) -> None:
        """Append whole lines: if the disk fills mid-write, the part written is taken back and the error is one line."""
        data = text.encode("utf-8", "surrogateescape")  # a file name that is not UTF-8 is logged as its own bytes
        start = os.fstat(self._fd).st_size
        try:
            while data:  # one write normally; loop only if the OS takes part of it
                n = os.write(self._fd, data)
                data = data[n:]
        except OSError as err:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)  # no half row left behind (not possible on devices such as /dev/full)
            fd, self._fd = self._fd, None  # closed: nothing more is written, and close() does not try again
            os.close(fd)
            self._rows.clear()
            raise UserError(
                f"{self.path}: cannot write the mood log ({err.strerror}); the {self.rows_written} rows written before are whole; "
                "free disk space or pass another --log"
            ) from None

    def close(self) -> None:
        if self._fd is not None:
            self.flush()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


BOM = b"\xef\xbb\xbf"  # a spreadsheet's "CSV UTF-8" starts with it; the header is read past it, and appending adds none


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(1 << 16)


def _header(head: bytes) -> list[str] | None:
    """The column names on a file's first line; None when that line is not text (a video, a picture)."""
    line = head.removeprefix(BOM).split(b"\n", 1)[0].removesuffix(b"\r")
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(line, final=b"\n" in head)  # a long line may end mid-character
    except UnicodeDecodeError:
        return None
    if any(c < " " and c != "\t" or c == "\x7f" for c in text):  # NUL and other control characters: no CSV header has them
        return None
    return next(csv.reader([text]), [])


def _excerpt(text: str, limit: int = 160) -> str:
    """Text from a file, fit for one line of an error: characters that are not printable escaped, at most `limit` shown."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
