"""Silencing the native libraries' own messages (OpenCV, FFmpeg, LiteRT, TensorFlow) unless --verbose."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

VERBOSE = False


QUIET_ENV = {
    "OPENCV_LOG_LEVEL": "SILENT",  # OpenCV's own WARN/ERROR lines (camera probing)
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # FFmpeg's AV_LOG_QUIET (decoder messages on damaged files)
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ logging
    "GLOG_minloglevel": "3",
}


def setup(verbose: bool) -> None:
    """Silence native logging unless `verbose`; call before the first capture or model is opened.

    Values the user already set in the environment win.
    """
    global VERBOSE
    VERBOSE = verbose
    if verbose:
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if "cv2" in sys.modules:  # already imported: its log level is read at import, so set it directly too
        import cv2

        with contextlib.suppress(AttributeError):
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


_HIDING = threading.Lock()
_hidden = {"depth": 0, "saved": None}  # how many callers are inside native_stderr(), and the real stderr meanwhile


@contextlib.contextmanager
def native_stderr() -> Iterator[None]:
    """Drop what native code writes to stderr meanwhile (not with --verbose); Python's own errors still surface after.

    Safe from several threads at once: the first to enter hides stderr and the last to leave
    restores it (two threads each saving and restoring on their own could leave it hidden for good).
    """
    if VERBOSE:
        yield
        return
    with _HIDING:
        if _hidden["depth"] == 0:
            sys.stderr.flush()
            try:
                _hidden["saved"] = os.dup(2)
            except OSError:  # no usable stderr: nothing to hide
                _hidden["saved"] = None
            if _hidden["saved"] is not None:
                with open(os.devnull, "wb") as null:
                    os.dup2(null.fileno(), 2)
        _hidden["depth"] += 1
    try:
        yield
    finally:
        with _HIDING:
            _hidden["depth"] -= 1
            saved = _hidden["saved"]
            if _hidden["depth"] == 0 and saved is not None:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                _hidden["saved"] = None
