"""The training command's options checked before any slow work: one-line errors that name the option, and nothing written."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.core.errors import UserError
from monitor.io.paths import same_file
from train.data import layout, sources


def check_train_options(args: argparse.Namespace, out: Path) -> None:
    """Every option of `python -m train` that can be checked before TensorFlow starts; `out` is the run's --out folder."""
    check_numbers(args)
    if args.widths and args.size >> len(args.widths) < 1:
        raise UserError(
            f"--widths: {len(args.widths)} blocks halve a {args.size}-pixel face to nothing; give at most {args.size.bit_length() - 1}"
        )
    dirs = args.data_dir
    layout.detect_layout(dirs, args.classes)  # fail fast on a bad folder, before the slow imports
    check_source(args.fit_class_bias, dirs, "--fit-class-bias")
    for source in sources.face_modes(args.faces):
        check_source(source or None, dirs, "--faces", args.faces)
    for source in sources.smoothing_by_source(args.label_smoothing):
        check_source(source or None, dirs, "--label-smoothing", args.label_smoothing)
    for source in sources.weights_by_source(args.source_weights):
        check_source(source or None, dirs, "--source-weights", args.source_weights)
    if args.resume and args.strategy == "multiworker":
        raise UserError("--resume: not for multi-worker runs; restart every worker without it")
    if args.init_from and same_file(args.init_from, out):
        raise UserError(f"--init-from {args.init_from}: is the --out folder itself; train into another folder")


def check_source(source: str | None, dirs: list[Path], option: str, given: str | None = None) -> None:
    """Data folder names given to an option (one, or several with commas) must be among this run's data folders.

    `given` is the option's whole value where the names are part of it (SOURCE=VALUE,...), for the message.
    """
    names = [Path(d).resolve().name for d in dirs]
    for one in source.split(",") if source is not None else []:
        if one not in names:
            raise UserError(
                f"{option} {given or source}: {one or '(empty)'} is not one of this run's data folders ({', '.join(names)}); name them"
            )


def check_numbers(args: argparse.Namespace) -> None:
    """Every numeric option in its range, or a one-line error naming it (before any slow work)."""
    import math

    checks = [
        ("--epochs", args.epochs, args.epochs >= 1, "at least 1"),
        ("--batch-size", args.batch_size, args.batch_size >= 1, "at least 1"),
        ("--learning-rate", args.learning_rate, math.isfinite(args.learning_rate) and 0 < args.learning_rate <= 1, "above 0 and at most 1, e.g. 0.001"),
        ("--warmup-epochs", args.warmup_epochs, 0 <= args.warmup_epochs < args.epochs, "0 or more, and fewer than --epochs"),
        ("--mixup", args.mixup, math.isfinite(args.mixup) and args.mixup >= 0, "0 (off) or a positive Beta parameter such as 0.2"),
        ("--patience", args.patience, args.patience >= 1, "at least 1"),
        ("--seed", args.seed, args.seed >= 0, "0 or more"),
        ("--peer-timeout", args.peer_timeout, math.isfinite(args.peer_timeout) and args.peer_timeout > 0, "above 0 seconds, e.g. 600"),
        ("--size", args.size, 24 <= args.size <= 512, "between 24 and 512 pixels"),
        ("--margin", args.margin, math.isfinite(args.margin) and -0.4 <= args.margin <= 1, "between -0.4 and 1 (a fraction of the face box)"),
        ("--val-fraction", args.val_fraction, 0 < args.val_fraction < 1, "above 0 and below 1, e.g. 0.15"),
        ("--test-fraction", args.test_fraction, 0 <= args.test_fraction < 1, "0 or more and below 1, e.g. 0.15"),
    ]
    for option, value, ok, rule in checks:
        if not ok:
            raise UserError(f"{option} {value}: must be {rule}")
    if args.val_fraction + args.test_fraction >= 0.9:
        raise UserError(
            f"--val-fraction {args.val_fraction} + --test-fraction {args.test_fraction}: leave at least 10 % of the pictures for training"
        )
