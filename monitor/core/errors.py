"""A user's mistake is one line: `UserError` for the command line, `BadInput` (also a ValueError) for the Python API."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """A problem the user can fix (bad path, bad file, bad option); the message says how."""


class BadInput(UserError, ValueError):
    """A user mistake met through the Python API (`EmotionMonitor`): a ValueError to scripts, one `error:` line on the command line."""


def run_cli(command: Callable[[], int]) -> int:
    """Run a command-line entry point: a UserError becomes one `error:` line and exit code 2, Ctrl-C 130.

    File names that are not valid UTF-8 (Linux allows them) are printed as their own bytes
    instead of crashing the print.
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    try:
        return command()
    except UserError as err:
        from monitor.core.text import printable

        print(f"error: {printable(str(err))}", file=sys.stderr)  # a control character in a name cannot drive the terminal
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader has what it wanted; not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 0
