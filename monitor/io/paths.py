"""Checks on the paths a user gives: never overwrite an input, names OpenCV can open, folders that can be written."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from monitor.core.errors import UserError


def opencv_safe(path: str | Path) -> bool:
    """True when OpenCV can take this name as it is (it must encode as UTF-8)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextlib.contextmanager
def opencv_path(path: str | Path) -> Iterator[str]:
    """A name for `path` that OpenCV can open: the path itself, or an ASCII link to it for the call's duration.

    The link keeps the file's suffix (OpenCV picks codecs by it) and works for files that do
    not exist yet (a video being written through the link lands at the real name).
    """
    if opencv_safe(path):
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="emotion-monitor-") as tmp:
        suffix = Path(path).suffix if opencv_safe(Path(path).suffix) else ""
        link = Path(tmp) / f"file{suffix}"
        os.symlink(os.path.abspath(path), link)
        yield str(link)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same spelling, a symbolic or a hard link."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_output_file(path: Path, inputs: list[Path] = (), what: str = "--output") -> None:
    """Fail early, before any work or any file is created, when an output path cannot be used.

    Refuses an output that is one of the inputs (writing it would destroy the input), a
    folder, or a place that cannot be written; creates missing parent folders.
    """
    check_name_length(path, what)
    for source in inputs:
        if same_file(path, source):
            raise UserError(f"{path}: is the input {source} itself; pass another {what} so the input is never overwritten")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; pass a file name for {what} (e.g. {path / 'annotated.mp4'})")
    ensure_folder(path.parent, what, path)
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{path}: not writable; pass a writable {what} path")


NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems alike


def check_name_length(path: Path, what: str) -> None:
    """A file or folder name longer than the file system allows is a one-line error, not an OSError traceback."""
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            shown = part[:40] + "..."
            raise UserError(f"{shown}: file name too long ({len(os.fsencode(part))} bytes, at most {NAME_MAX}); pass a shorter {what}")


def ensure_folder(folder: Path, what: str, target: Path | None = None) -> None:
    """Create `folder` (and its parents) for `target` (a file in it), or say in one line why it cannot be."""
    name = target or folder
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{name}: {parent} is a file, not a folder; pass another {what}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{name}: cannot create the folder {folder} ({err.strerror}); pass a writable {what}") from None


def check_writable_folder(folder: Path, what: str) -> None:
    """Files can be created in `folder` (tried, not guessed: root passes permission checks on a read-only mount)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UserError(f"{folder}: cannot write there ({err.strerror}); pass a writable {what}") from None


def parse_spec(spec: str) -> tuple[str, str | int]:
    """What a --source (or a log's `source`) names: ('camera', index) for digits, ('stream', url) for scheme://, else ('file', path).

    Here, not in sources.py, so that reading logs needs no OpenCV.
    """
    spec = str(spec).strip()
    if spec.isdigit():
        return "camera", int(spec)
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", spec) and not os.path.exists(spec):  # a URL's scheme, and no file of that name
        return "stream", spec
    return "file", spec
