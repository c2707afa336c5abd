"""What each train command does with its parsed options: the training command's run folder, `evaluate`, `export`,
`recipe` and `benchmark`. The work itself is in the library modules (train/run.py, train/finish.py, train/data/)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from datetime import datetime
from pathlib import Path

from monitor.core.errors import UserError
from train import parsers
from train.checks import check_train_options
from train.data import layout
from train.run_folder import (
    RUN_FILES,
    check_out,
    check_writable,
    prepare_checkpoint,
    publish,
    remove_stale_work,
    train_in_work_folder,
    work_folder,
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a stopped run cleans up exactly as after Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def run_train(argv: list[str]) -> int:
    import signal

    signal.signal(signal.SIGTERM, _terminate)  # multi-worker runs set it back to the default (see train/distribute.py)
    try:
        return train_command(argv)
    except Terminated:
        print("stopped (SIGTERM)", file=sys.stderr)
        return 143


def train_command(argv: list[str]) -> int:
    """`python -m train DATA_DIR ...`: check everything, train in a work folder, then publish it as --out."""
    args = parsers.train_parser().parse_args(argv)
    out = args.out or Path("runs") / f"{layout.data_name(args.data_dir)}-{datetime.now():%Y%m%d-%H%M%S}"
    check_train_options(args, out)
    kept = check_out(out, args.overwrite)
    check_writable(out.parent)
    for stale in remove_stale_work(out.parent):
        print(f"note: removed {stale}, the work folder of an earlier run that was stopped", file=sys.stderr)
    args.checkpoint = prepare_checkpoint(args, out) if args.strategy != "multiworker" else None
    from train.run import NOT_CHIEF, train_into

    command = "python -m train " + shlex.join(argv)
    code = train_in_work_folder(out, args.checkpoint, lambda work: train_into(args, work, command))
    work = work_folder(out)
    if code == NOT_CHIEF:  # another worker of a multi-worker run: the chief writes the model
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        end_multiworker(0)
    publish(work, out)
    print(f"\nwrote {out}/: {', '.join(RUN_FILES)}")
    if kept:
        print(f"note: {', '.join(kept)} in {out} are from before and were left as they were (training does not write them)")
    if args.strategy == "multiworker":
        end_multiworker(code)
    return code


def end_multiworker(code: int) -> None:
    """Leave at once: TensorFlow's shutdown of a multi-worker run waits for the other workers, which may already be gone."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_evaluate(argv: list[str]) -> int:
    args = parsers.evaluate_parser().parse_args(argv)
    from monitor.core import split as splits
    from monitor.vision.classify import load_classifier
    from train.data import votes
    from train.data.scan import progress, scan
    from train.evaluate import check_classes, format_report, metrics_of, mistakes, predict_split, restricted

    kind, data_classes = layout.detect_layout(args.data_dir, args.classes)
    if args.errors:
        check_writable(args.errors.parent, "--errors path")
    classifier = load_classifier(args.model, prefer=".keras").with_class_bias(args.class_bias)
    unknown = [c for c in args.classes or [] if c not in classifier.classes]
    if unknown:
        raise UserError(f"--classes: {', '.join(unknown)} not a class of the model {classifier.path} ({', '.join(classifier.classes)})")
    check_classes(data_classes, list(classifier.classes))  # from the folder names, before every picture is decoded
    split = "all"
    if kind == "split folders":
        split = "test" if (args.data_dir / "test").is_dir() else "val" if (args.data_dir / "val").is_dir() else "train"
    elif kind == layout.VOTE_SPLITS:
        present = votes.vote_splits(args.data_dir)
        split = "test" if "test" in present else "val" if "val" in present else "train"
    keep = None
    if args.held_out is not None:
        from monitor.vision.models import read_metadata, resolve

        meta = read_metadata(resolve(args.held_out)) if args.held_out else classifier.metadata
        keep = {p for p, _ in splits.model_held_out(args.data_dir, meta)}
    data = scan(
        args.data_dir,
        args.faces,
        classifier.crop_rule,
        only_split=split,
        only_classes=args.classes,
        progress=progress("reading") if not args.json else (lambda it: it),
        keep=keep,
    )
    pred = predict_split(classifier, data, split)
    split = "held out" if keep is not None else split
    metrics = {"model": str(classifier.path), "data": str(args.data_dir), "split": split, **metrics_of(pred), "skipped": len(data.skipped)}
    only = [c for c in classifier.classes if c in data.classes]
    if len(only) < len(classifier.classes):  # the model knows more classes than the data: also judge it among the data's
        metrics["restricted"] = {"classes": only, **metrics_of(restricted(pred, only))}
    if args.errors:
        from train.export import write_mistakes

        rows = mistakes(pred)
        write_mistakes(rows, args.errors)
        print(f"wrote {len(rows)} wrongly judged pictures to {args.errors}", file=sys.stderr)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"model {classifier.path} on {args.data_dir} ({split})\n{format_report(metrics)}")
        if "restricted" in metrics:
            print(f"\namong {' and '.join(only)} only (the larger of {', '.join('p_' + c for c in only)}):")
            print(format_report(metrics["restricted"]))
    return 0


def run_export(argv: list[str]) -> int:
    from train.finish import export_run

    return export_run(parsers.export_parser().parse_args(argv), argv)


def run_recipe(argv: list[str]) -> int:
    args = parsers.recipe_parser().parse_args(argv)
    from monitor.vision.models import read_metadata, resolve
    from train.recipe import problems, recipe

    path = resolve(args.model)
    meta = read_metadata(path)
    print(recipe(meta, path.parent.name))
    for problem in problems(meta):
        print(f"note: {problem}", file=sys.stderr)
    return 0


def run_benchmark(argv: list[str]) -> int:
    args = parsers.benchmark_parser().parse_args(argv)
    from train.benchmark import benchmark

    benchmark(args.model, args.repeats)
    return 0
