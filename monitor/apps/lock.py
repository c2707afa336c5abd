"""One run per log folder: a second run on the same folder is refused, a stale lock is taken over."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from monitor.core.errors import UserError

LOCK_NAME = ".emotion-monitor.lock"


@contextlib.contextmanager
def run_lock(log_dir: Path):
    """Hold the log folder for this run: a second run on it is refused with a line naming this one.

    The lock is the operating system's (flock), so it goes with the process however it ends,
    kill -9 included, and never needs cleaning up.
    """
    import socket
    import sys

    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = log_dir / LOCK_NAME
    try:
        handle = open(path, "a+")  # noqa: SIM115 (held for the whole run)
    except OSError as err:
        if path.exists():  # the folder may be fine: the lock file itself is what cannot be opened
            raise UserError(
                f"{path}: cannot open this log folder's lock file ({err.strerror}); make it writable or delete it "
                "(it only marks a folder-of-videos run in progress)"
            ) from None
        raise UserError(f"--log {log_dir}: cannot write there ({err.strerror}); pass a writable folder") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            raise UserError(f"--log {log_dir}: {holder} is working on this folder; wait for it to end or pass another --log") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"run {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')} ({' '.join(sys.argv)})")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
