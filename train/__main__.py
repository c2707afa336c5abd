"""Command line: `python -m train DATA_DIR`, and `python -m train evaluate | export | benchmark | recipe ...` (see train/commands.py)."""

from __future__ import annotations

import sys

from monitor.core.errors import run_cli
from monitor.io import native_logs
from train.commands import run_benchmark, run_evaluate, run_export, run_recipe, run_train

COMMANDS = {"evaluate": run_evaluate, "benchmark": run_benchmark, "export": run_export, "recipe": run_recipe}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    native_logs.setup(verbose="--verbose" in argv)
    if argv and argv[0] in COMMANDS:
        return run_cli(lambda: COMMANDS[argv[0]](argv[1:]))
    return run_cli(lambda: run_train(argv))


if __name__ == "__main__":
    sys.exit(main())
