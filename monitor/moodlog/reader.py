"""Reading mood logs fast and tolerantly: the needed columns through Arrow, a cut last line ignored."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
from pyarrow import csv

from monitor import program
from monitor.core.errors import UserError
from monitor.moodlog.schema import BASE_COLUMNS, QUOTE, TEXT_COLUMNS, unprotect

if TYPE_CHECKING:  # the reader itself needs no pandas
    import pandas as pd

NEEDED = ["timestamp", "source", "frame", "stream_time_s", "face_id", "label", "confidence"]


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


OFFSET = re.compile(r"(?:([+-])(\d\d):?(\d\d)|Z)$")


@dataclass
class RawLog:
    """One log as read: its needed columns as an Arrow table, or its text when Arrow refused a value in it."""

    path: Path
    classes: list[str]  # from its p_ columns, in the model's order
    offset: datetime.timezone  # the UTC offset of its first timestamp: how its times are shown
    changes: tuple = ()  # (UTC ns, offset) where its rows' offset changed (summer time ending mid-log), in time order
    table: pa.Table | None = None
    text: bytes | None = None  # whole lines, to be read tolerantly (a damaged value becomes missing)
    refused: int = 0  # lines left out by Arrow (wrong number of fields)
    cut: bool = False  # the last line was cut off and left out
    notes: list[str] = field(default_factory=list)


def importing(module: str) -> None:
    """Import `module` on a thread from now on, while this thread reads logs (Arrow parses without the GIL)."""

    def load() -> None:
        with contextlib.suppress(Exception):  # the import where the module is needed says what is wrong
            importlib.import_module(module)

    threading.Thread(target=load, name=f"import {module}", daemon=True).start()


def log_files(paths: list[Path]) -> list[Path]:
    """The logs named: files as given, and for a folder (a batch run's --log) the CSV files in it."""
    out = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.glob("*.csv") if not f.name.startswith("."))
            if not found:
                raise UserError(f"{p}: no mood log (*.csv) in this folder; pass the folder a run wrote its logs to, or the logs")
            out += found
        else:
            out.append(p)
    return out


def read_all(paths: list[Path]) -> list[RawLog | UserError]:
    """Every log named (folders opened): one that cannot be read is its error, so the others still count."""
    out: list[RawLog | UserError] = []
    for path in log_files(list(paths)):
        try:
            out.append(read_raw(Path(path)))
        except UserError as err:
            out.append(err)
    return out


def read_raw(path: Path) -> RawLog:
    """One log's needed columns. UserError when it is not a mood log or holds no rows.

    Malformed lines (a row cut by a crash, a row glued onto it by an old append) are left out
    and counted; they never make the whole file unreadable.
    """
    if not path.is_file():
        raise UserError(f"{path}: log not found; pass the CSV written by `{program()}` (or the folder of a batch run's logs)")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path}: empty file; it holds no log rows")
    with path.open("rb") as f:
        head = f.read(1 << 16)
        f.seek(-1, 2)
        whole = f.read(1) == b"\n"
    try:
        lines_at_start = head.decode("utf-8").removeprefix("\ufeff").splitlines()  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        lines_at_start = []
    header = lines_at_start[0].split(",") if lines_at_start else []
    if not header or any(not c.isprintable() for c in header):
        raise UserError(f"{path}: not a mood log (not a readable CSV text file); pass the CSV written by `{program()}`")
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise UserError(f"{path}: not a mood log (missing columns {', '.join(missing)}); expected the columns {', '.join(BASE_COLUMNS)}")
    if len(lines_at_start) < 2 and size <= len(head):
        raise UserError(f"{path}: holds only its header: no rows were logged (the run saw no frame?)")
    log = RawLog(path, [c[2:] for c in header if c.startswith("p_")], _offset_of(lines_at_start[1] if len(lines_at_start) > 1 else ""))
    log.cut = not whole
    if log.cut:
        log.notes.append(f"{path.name}: the last line was cut off (the monitor was killed?) and was left out")
    end = size if whole else _last_newline(path, size) + 1  # a last line cut by a crash is not read at all
    _read_table(log, end)
    if _offset_of(_last_line(path, end)) != log.offset:  # the clock changed on the way: find where (rare, so read again)
        log.changes = _offset_changes(log, end)
    return log


def _last_line(path: Path, end: int) -> str:
    """The last whole line before byte `end` (its text, or '' when it cannot be decoded)."""
    with path.open("rb") as f:
        f.seek(max(0, end - (1 << 16)))
        lines = f.read(end - max(0, end - (1 << 16))).splitlines()
    try:
        return next((line.decode("utf-8") for line in reversed(lines) if line.strip()), "")
    except UnicodeDecodeError:
        return ""


def _offset_changes(log: RawLog, end: int) -> tuple:
    """(UTC ns, offset) at each row whose timestamp's UTC offset differs from the row before."""
    import pyarrow.compute as pc

    with log.path.open("rb") as f:
        data = f.read(end)
    try:
        stamps = csv.read_csv(
            pa.BufferReader(pa.py_buffer(data)),
            parse_options=csv.ParseOptions(invalid_row_handler=lambda _row: "skip"),
            convert_options=csv.ConvertOptions(include_columns=["timestamp"], column_types={"timestamp": pa.string()}),
        ).column("timestamp")
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return ()
    tails = pc.utf8_slice_codeunits(stamps, -6).to_pylist()
    changes, last = [], _offset_of(tails[0] or "") if tails else log.offset
    for i in range(1, len(tails)):
        if tails[i] != tails[i - 1] and tails[i] and OFFSET.search(tails[i]):
            offset = _offset_of(tails[i])
            if offset != last:
                try:
                    moment = datetime.datetime.fromisoformat(stamps[i].as_py())
                except (TypeError, ValueError):
                    continue
                changes.append(((moment - EPOCH) // datetime.timedelta(microseconds=1) * 1000, offset))
                last = offset
    return tuple(sorted(changes, key=lambda c: c[0]))


def _read_table(log: RawLog, end: int) -> None:
    """The needed columns of the first `end` bytes into `log.table`; its text into `log.text` where Arrow refuses a value."""
    types = {
        "timestamp": pa.timestamp("ns", tz="UTC"),
        "source": pa.dictionary(pa.int32(), pa.string()),
        "label": pa.dictionary(pa.int32(), pa.string()),
        "frame": pa.float64(),
        "stream_time_s": pa.float64(),
        "face_id": pa.float32(),
        "confidence": pa.float32(),
    }

    def skip(_row) -> str:
        log.refused += 1
        return "skip"

    def prefix() -> bytes:
        with log.path.open("rb") as f:
            return f.read(end)

    # the file by name (Arrow streams it); only a log cut by a crash is read into memory up to its last whole line
    source = str(log.path) if not log.cut else pa.BufferReader(pa.py_buffer(prefix()))
    try:
        log.table = csv.read_csv(
            source,
            parse_options=csv.ParseOptions(invalid_row_handler=skip),
            convert_options=csv.ConvertOptions(include_columns=NEEDED, column_types=types, strings_can_be_null=True),
            memory_pool=arrow_pool(),
        )
        for name in TEXT_COLUMNS:
            log.table = log.table.set_column(log.table.column_names.index(name), name, original_text(log.table.column(name)))
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a damaged value somewhere: the text is read tolerantly
        log.refused, log.text = 0, prefix()


def original_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded text column with each value as it was before the writer protected it (schema.protect).

    Only the dictionaries (a few names) are looked at; the rows' codes are remapped where two
    values become one (=a from an older version's rows beside '=a from newer ones).
    """
    chunks = []
    for chunk in column.chunks:
        values = chunk.dictionary.to_pylist()
        if not any(v.startswith(QUOTE) for v in values if v):
            chunks.append(chunk)
            continue
        plain = [unprotect(v) if v else v for v in values]
        unique = list(dict.fromkeys(plain))
        codes = pa.array([unique.index(v) for v in plain], pa.int32()).take(chunk.indices)
        chunks.append(pa.DictionaryArray.from_arrays(codes, pa.array(unique, pa.string())))
    return pa.chunked_array(chunks, column.type)


def text_as_written(df: pd.DataFrame) -> pd.DataFrame:
    """The text columns of a log read as pandas strings (the tolerant read), as they were before the writer protected them."""
    for name in TEXT_COLUMNS:
        df[name] = df[name].str.removeprefix(QUOTE)
    return df


def arrow_pool():
    """Arrow's memory for reading: jemalloc returning what is freed at once, so a long log's peak stays near its data.

    It becomes Arrow's default too, for the reader's own buffers. Where the wheel has no
    jemalloc (Windows), the system's allocator.
    """
    try:
        pa.jemalloc_set_decay_ms(0)
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # pa.ArrowNotImplementedError is one
        pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)
    return pool


def _last_newline(path: Path, size: int) -> int:
    """Offset of the file's last newline (-1 if none), read backwards in blocks."""
    with path.open("rb") as f:
        pos = size
        while pos > 0:
            start = max(0, pos - (1 << 16))
            f.seek(start)
            block = f.read(pos - start)
            i = block.rfind(b"\n")
            if i >= 0:
                return start + i
            pos = start
    return -1


def _offset_of(first_row: str) -> datetime.timezone:
    """The UTC offset the log was written in (its first timestamp's), to show times as the user's clock did."""
    m = OFFSET.search(first_row.split(",", 1)[0].strip())
    if not m or m.group(0) == "Z":
        return datetime.UTC
    sign = -1 if m.group(1) == "-" else 1
    return datetime.timezone(sign * datetime.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
