"""Stopping cleanly: SIGTERM takes the same path as Ctrl-C, so every row read is in the log."""

from __future__ import annotations


class Stop(BaseException):
    """Raised by the SIGTERM handler, so termination takes the same clean path as Ctrl-C.

    A BaseException, as KeyboardInterrupt is: a signal can land inside library code (pandas
    writing the log, a worker's wait) whose `except Exception` would otherwise swallow it.
    """


def raise_stop(signum, frame) -> None:
    """The SIGTERM handler."""
    raise Stop()
