"""Command line: `python -m train DATA_DIR`, `python -m train evaluate DATA_DIR`, `python -m train benchmark`."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from monitor import __version__, program
from monitor.core.errors import UserError, run_cli
from monitor.io import native_logs
from monitor.io.paths import same_file
from train.distribute import PEER_TIMEOUT_S
from train.options import read_state

USAGE_EPILOG = """\
other commands:
  python -m train evaluate DATA_DIR [--model PATH] [--classes A,B] [--class-bias CLASS=B] [--held-out [MODEL]]
                                    [--faces MODE] [--errors CSV] [--json]
  python -m train export RUN_DIR [--flip-average] [--calibrate] [--class-bias CLASS=B | --fit-class-bias SOURCE]
  python -m train benchmark [--model PATH]
  python -m train recipe [MODEL]             the commands that remake a model, from its metadata

DATA_DIR layouts (several folders are taken together, e.g. FER+ and a folder per class):
  DATA_DIR/<class>/...                         split into train/val/test by this command
  DATA_DIR/train/<class>/..., val/..., test/...  used as given (val/ and test/ optional)
  DATA_DIR/label.csv + pictures                votes per class (see --labels); split by this command
  DATA_DIR/train/label.csv, val/..., test/...  the same in splits; FER+'s FER2013Train/, FER2013Valid/, FER2013Test/ too
"""

FACES_HELP = (
    "how pictures become faces: 'whole' takes every picture as a ready-made face crop; 'detect' cuts out "
    "every face the Haar detector finds (pictures with none are reported); 'auto' (default) takes a picture "
    "whole when it is roughly square and at most 3x the model input size (like FER-2013's 48x48 crops), "
    "and detects faces in anything larger. Per data folder: SOURCE=MODE, e.g. 'auto,affectnet=detect' cuts the detector's box out "
    "of a folder of ready-made crops whose corners differ from a camera's"
)


def train_parser() -> argparse.ArgumentParser:
    from monitor.core.crop import CropRule
    from train.options import FitOptions

    d = FitOptions()
    p = argparse.ArgumentParser(
        prog=program("train"),
        description="Train the emotion CNN from folders of labelled pictures (one folder per class).",
        epilog=USAGE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "data_dir",
        type=Path,
        nargs="+",
        metavar="DATA_DIR",
        help="folder with one subfolder per class, or train/ val/ [test/] folders of them; several folders are "
        "taken together (same-named classes merged), e.g. a data set and extra pictures of your own",
    )
    p.add_argument(
        "--classes",
        type=class_names,
        metavar="NAME,NAME,...",
        help="use only these class folders (default: all); e.g. leave out a class with few pictures without moving files",
    )
    p.add_argument("--out", type=Path, help="output folder (default: runs/<data folder>-<time>); must be new or empty")
    p.add_argument("--overwrite", action="store_true", help="train into a non-empty --out folder, replacing the model there")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run of the same command from its last finished epoch (its state is kept beside --out as "
        ".NAME.checkpoint/ after every epoch); give the same options",
    )
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"most epochs to train; early stopping may end sooner (default {d.epochs})")
    p.add_argument("--faces", default="auto", metavar="MODE", help=FACES_HELP)
    p.add_argument(
        "--labels",
        choices=["votes", "majority"],
        default="votes",
        help="for folders labelled by votes (a label.csv beside the pictures, e.g. FER+): 'votes' (default) trains against each "
        "picture's vote shares, 'majority' against its most-voted class; either way ties, unknown and not-a-face are left out "
        "and evaluation scores the majority",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed for the split, shuffling and weights (default 0)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"pictures per training step (default {d.batch_size})")
    p.add_argument(
        "--learning-rate", type=float, default=d.learning_rate, help=f"peak AdamW learning rate, cosine-decayed (default {d.learning_rate})"
    )
    p.add_argument(
        "--warmup-epochs",
        type=int,
        default=d.warmup_epochs,
        help="ramp the learning rate up over this many epochs first (default 0; try 1-2 for many unbalanced classes)",
    )
    p.add_argument(
        "--mixup",
        type=float,
        default=d.mixup,
        metavar="ALPHA",
        help="blend training pictures and their labels in pairs, weight drawn from Beta(ALPHA, ALPHA) (default 0: off; 0.2 is usual)",
    )
    p.add_argument(
        "--label-smoothing",
        default=str(d.label_smoothing),
        metavar="E",
        help=f"soften every training target towards uniform by E (default {d.label_smoothing}); per data folder: SOURCE=E, e.g. "
        "'0.1,affectnet=0.3' trusts one annotator's label (a class folder) less than ten votes, so the model is not "
        "over-confident on such faces",
    )
    p.add_argument(
        "--source-weights",
        default="",
        metavar="SOURCE=W",
        help="show a data folder's training faces W times an epoch (default 1 each), e.g. 'affectnet=2' when one "
        "source would swamp the other; 0.5 shows a seeded half",
    )
    p.add_argument(
        "--class-weights",
        choices=["balanced", "sqrt", "none"],
        default=d.class_weights,
        help="loss weight per class: 'balanced' (default) = inverse frequency, every class counts alike; 'sqrt' = inverse square "
        "root, for very unbalanced classes when plain accuracy matters too; 'none'",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help=f"stop after this many epochs without better val balanced accuracy (default {d.patience})",
    )
    p.add_argument(
        "--flip-average",
        action="store_true",
        help="save a model that averages each face with its mirror image (about 2x inference, usually more accurate)",
    )
    p.add_argument(
        "--fit-class-bias",
        metavar="SOURCE[,SOURCE...]",
        help="choose the operating point on the validation pictures of one or more data folders (their names, e.g. affectnet or "
        "ferplus,affectnet, pooled): the class bias that maximises their balanced accuracy, stored with the model. Name the "
        "sources most like your camera's faces",
    )
    p.add_argument(
        "--init-from",
        type=Path,
        help="start from the features of another model folder made by this command (e.g. trained on all seven FER classes); its output layer is replaced",
    )
    p.add_argument(
        "--widths",
        type=block_widths,
        metavar="N,N,...",
        help="filters of each convolution block, one number per block (default 32,64,128,192; with --init-from: that model's, "
        "or wider: the model is widened into them, computing the same function at the start)",
    )
    p.add_argument(
        "--strategy",
        choices=["default", "mirrored", "multiworker"],
        default="default",
        help="tf.distribute: 'mirrored' = all local GPUs (or the CPU), 'multiworker' = several machines, each with its TF_CONFIG "
        "(see the README); --batch-size is then per replica (default: one device)",
    )
    p.add_argument(
        "--peer-timeout",
        type=float,
        default=PEER_TIMEOUT_S,
        metavar="SECONDS",
        help="multiworker: the longest a worker waits for the others in one exchange before it ends with an error; "
        f"a peer that stops answering at all is noticed within about 6 s (default {PEER_TIMEOUT_S:g})",
    )
    p.add_argument("--size", type=int, default=48, help="face crop side in pixels fed to the network (default 48)")
    p.add_argument(
        "--margin",
        type=float,
        default=CropRule().margin,
        help=f"margin added around a detected face box on each side, as a fraction of its size (default {CropRule().margin}, "
        "chosen on real videos and photos: see the README)",
    )
    p.add_argument(
        "--val-fraction", type=float, default=0.15, help="share held out for validation when there is no val/ folder (default 0.15)"
    )
    p.add_argument(
        "--test-fraction", type=float, default=0.15, help="share held out for testing when DATA_DIR has only class folders (default 0.15)"
    )
    return add_common(p)


def block_widths(text: str) -> tuple[int, ...]:
    """'32,64,128' -> (32, 64, 128): the network's block widths, for --widths."""
    try:
        widths = tuple(int(v) for v in text.split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive whole numbers separated by commas, e.g. 32,64,128,192")
    return widths


def class_names(text: str) -> list[str]:
    """'happy,sad' -> ['happy', 'sad'], for --classes."""
    names = [c.strip() for c in text.split(",") if c.strip()]
    if len(names) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: name at least 2 class folders separated by commas, e.g. happy,sad")
    return names


def evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program("train") + " evaluate", description="Measure a model on folders of labelled pictures.")
    p.add_argument("data_dir", type=Path, help="class folders (or a train/val/test layout: its test/, else val/, is used)")
    p.add_argument("--model", type=Path, help="model file or folder (default: the shipped default model)")
    p.add_argument(
        "--classes",
        type=class_names,
        metavar="NAME,NAME,...",
        help="score only pictures of these classes (default: all); e.g. happy,neutral,sad of FER+'s eight",
    )
    p.add_argument("--faces", default="auto", metavar="MODE", help=FACES_HELP)
    p.add_argument(
        "--class-bias",
        type=class_bias,
        metavar="CLASS=B,...",
        help="measure the model at another operating point than its own (replaces its class bias; see train export --class-bias)",
    )
    p.add_argument(
        "--held-out",
        nargs="?",
        const="",
        metavar="MODEL",
        help="score only the pictures of DATA_DIR that the model's training run held out as its test split (DATA_DIR must be one "
        "of its class-folder training folders; the split is recomputed from the model's seed and fractions). Give another "
        "model's name or folder to use its run's hold-out instead. A model that never saw DATA_DIR is scored on the part a run "
        "with the default seed and fractions (0, 15/15 %%) would hold out",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object with all metrics instead of a table")
    p.add_argument(
        "--errors",
        type=Path,
        metavar="CSV",
        help="also write every picture judged wrong (path, true, predicted, confidence; most confident first) to this CSV: "
        "where to look for mislabelled pictures",
    )
    return add_common(p)


def export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program("train") + " export", description="Rewrite a trained run's model files with export options, and re-measure it."
    )
    p.add_argument("run_dir", type=Path, help="output folder of a `python -m train` run (updated in place)")
    p.add_argument("--flip-average", action="store_true", help="average each face's probabilities with its mirror image's")
    p.add_argument("--calibrate", action="store_true", help="fit a temperature on val so confidence is a probability (new runs have one)")
    p.add_argument(
        "--class-bias",
        type=class_bias,
        metavar="CLASS=B,...",
        help="the model's operating point: add B to a class's log-probability (e.g. sad=0.5 says sad sooner than neutral); "
        "stored in metadata.json and applied wherever the model is used; CLASS=0 removes it. Choose it on real faces",
    )
    p.add_argument(
        "--fit-class-bias",
        metavar="SOURCE[,SOURCE...]",
        help="fit the class bias on the validation pictures of one or more of the run's data folders (their names, pooled): the "
        "bias that maximises their balanced accuracy",
    )
    return add_common(p)


def class_bias(text: str) -> dict[str, float]:
    """--class-bias, parsed as the monitor parses it."""
    from monitor.vision.classify import parse_class_bias

    try:
        return parse_class_bias(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def benchmark_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program("train") + " benchmark", description="Per-face classification time of a model on this machine.")
    p.add_argument("--model", type=Path, help="model folder or shipped model's name (default: the shipped default model)")
    p.add_argument("--repeats", type=int, default=200, help="timed calls per measurement (default 200)")
    return add_common(p)


def check_writable(folder: Path, option: str = "--out") -> None:
    """Create `folder` if needed and make sure files can be written in it; the message names `option`.

    The probe file is unique to this process: a multi-worker run's workers check the same folder at once.
    """
    from monitor.io.paths import check_writable_folder, ensure_folder

    ensure_folder(folder, option)
    check_writable_folder(folder, option)


NOT_CHIEF = -1  # train_into's answer on a multi-worker run's other workers

# What a training run writes into its --out folder.
RUN_FILES = (
    "model.keras",
    "model.tflite",
    "metadata.json",
    "curves.png",
    "confusion.png",
    "reliability.png",
    "bad_files.csv",
    "history.csv",
)


def check_out(out: Path, overwrite: bool) -> list[str]:
    """Refuse to train into a folder that holds anything unless --overwrite.

    Returns the names of files there that a run does not write (say, a README): they are kept,
    and the user is told.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: is a file; --out must be a folder")
    present = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if present and not overwrite:
        raise UserError(
            f"{out}: folder is not empty ({', '.join(present[:5])}); pass another --out, or --overwrite to replace the model in it"
        )
    return [name for name in present if name not in RUN_FILES]


def publish(work: Path, out: Path) -> None:
    """Move a finished run's files from its work folder into --out, replacing an earlier run's."""
    out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (out / name).exists() and not (work / name).exists():
            (out / name).unlink()  # from the earlier run, not made by this one
    for f in work.iterdir():
        os.replace(f, out / f.name)
    work.rmdir()


def progress(desc: str):
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=desc, unit="file", mininterval=1.0, file=sys.stderr)


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
    args = train_parser().parse_args(argv)
    from train import dataset

    check_numbers(args)
    if args.widths and args.size >> len(args.widths) < 1:
        raise UserError(
            f"--widths: {len(args.widths)} blocks halve a {args.size}-pixel face to nothing; give at most {args.size.bit_length() - 1}"
        )
    dirs, name = args.data_dir, dataset.data_name(args.data_dir)
    out = args.out or Path("runs") / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    dataset.detect_layout(dirs, args.classes)  # fail fast on a bad folder, before the slow imports
    check_source(args.fit_class_bias, dirs, "--fit-class-bias")
    for source in dataset.face_modes(args.faces):
        check_source(source or None, dirs, "--faces", args.faces)
    for source in dataset.smoothing_by_source(args.label_smoothing):
        check_source(source or None, dirs, "--label-smoothing", args.label_smoothing)
    for source in dataset.weights_by_source(args.source_weights):
        check_source(source or None, dirs, "--source-weights", args.source_weights)
    if args.resume and args.strategy == "multiworker":
        raise UserError("--resume: not for multi-worker runs; restart every worker without it")
    if args.init_from and same_file(args.init_from, out):
        raise UserError(f"--init-from {args.init_from}: is the --out folder itself; train into another folder")
    kept = check_out(out, args.overwrite)
    check_writable(out.parent)
    for stale in remove_stale_work(out.parent):
        print(f"note: removed {stale}, the work folder of an earlier run that was stopped", file=sys.stderr)
    args.checkpoint = prepare_checkpoint(args, out) if args.strategy != "multiworker" else None
    work = out.parent / f".{out.name}.partial-{os.getpid()}"  # the run writes here; --out changes only when it succeeds
    work.mkdir()
    try:
        code = train_into(args, work, command="python -m train " + shlex.join(argv))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # a failed or stopped run leaves no model behind, and the old model intact
        if args.checkpoint and (state := read_state(args.checkpoint)):
            print(
                f"\nnote: the run's state after epoch {state['epoch']} is kept in {args.checkpoint}/; "
                "run the same command with --resume to continue from there",
                file=sys.stderr,
            )
        elif args.checkpoint:
            shutil.rmtree(args.checkpoint, ignore_errors=True)
        raise
    if args.checkpoint:
        shutil.rmtree(args.checkpoint, ignore_errors=True)
    if code == NOT_CHIEF:  # another worker of a multi-worker run: the chief writes the model
        shutil.rmtree(work, ignore_errors=True)
        end_multiworker(0)
    publish(work, out)
    print(f"\nwrote {out}/: {', '.join(RUN_FILES)}")
    if kept:
        print(f"note: {', '.join(kept)} in {out} are from before and were left as they were (training does not write them)")
    if args.strategy == "multiworker":
        end_multiworker(code)
    return code


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


# Options that do not change what a run computes: a resumed run may differ in these.
NOT_COMPARED_ON_RESUME = ("resume", "overwrite", "verbose", "peer_timeout")


def prepare_checkpoint(args, out: Path) -> Path:
    """The folder that keeps a run's state after every epoch: new for a fresh run, checked against the options for --resume."""
    folder = out.parent / f".{out.name}.checkpoint"
    settings = {k: v for k, v in vars(args).items() if k not in NOT_COMPARED_ON_RESUME and k != "checkpoint"}
    settings = json.loads(json.dumps(settings, default=str))  # as stored: paths as text, tuples as lists
    state = read_state(folder)
    if args.resume:
        try:
            saved = json.loads((folder / "options.json").read_text())
        except (OSError, ValueError):
            raise UserError(f"--resume: no interrupted run of {out} to continue ({folder}/ not found); start it without --resume") from None
        changed = [k for k in sorted(set(saved) | set(settings)) if saved.get(k) != settings.get(k)]
        if changed:
            shown = ", ".join(f"--{k.replace('_', '-')} {saved.get(k)} (now {settings.get(k)})" for k in changed)
            raise UserError(f"--resume: {out}'s interrupted run had other options: {shown}; give the same ones, or delete {folder} to start afresh")
        if not state:
            print(f"note: {out}'s interrupted run had finished no epoch; starting from the first", file=sys.stderr)
        return folder
    if state:
        raise UserError(
            f"{out}: an interrupted run of it finished {state['epoch']} epoch(s) ({folder}/); pass --resume to continue it, "
            "or delete that folder to start afresh"
        )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "options.json").write_text(json.dumps(settings, indent=1))
    return folder


def end_multiworker(code: int) -> None:
    """Leave at once: TensorFlow's shutdown of a multi-worker run waits for the other workers, which may already be gone."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def check_numbers(args) -> None:
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


def remove_stale_work(parent: Path) -> list[Path]:
    """Delete work folders of earlier runs that were killed (`.NAME.partial-PID/` whose process is gone); returns them."""
    removed = []
    for folder in parent.glob(".*.partial-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if not (folder.is_dir() and pid.isdigit()) or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # someone else's live process
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def train_into(args, out: Path, command: str) -> int:
    """The training run proper, into an empty work folder."""
    from monitor.core.crop import CropRule
    from train import dataset

    rule = CropRule(size=args.size, margin=args.margin)
    dirs, name = args.data_dir, dataset.data_name(args.data_dir)
    fractions = (args.val_fraction, args.test_fraction)
    scan = dataset.scan(
        dirs, args.faces, rule, args.seed, fractions, progress("checking pictures"), only_classes=args.classes, labels=args.labels
    )
    report_scan(scan)

    with native_logs.native_stderr():  # TensorFlow's start-up lines
        import keras

    from train import distribute
    from train.evaluate import format_report
    from train.export import build_metadata, plot_curves, write_bad_files
    from train.fit import class_weights, fit
    from train.model import DEFAULT_WIDTHS, build_classifier, widths_of, with_flip_average
    from train.options import FitOptions

    smoothing = dataset.smoothing_by_source(args.label_smoothing)
    options = FitOptions(
        args.epochs,
        args.batch_size,
        args.learning_rate,
        label_smoothing=smoothing[""],
        label_smoothing_by_source={k: v for k, v in smoothing.items() if k},
        source_weights={k: v for k, v in dataset.weights_by_source(args.source_weights).items() if k},
        patience=args.patience,
        warmup_epochs=args.warmup_epochs,
        mixup=args.mixup,
        class_weights=args.class_weights,
        seed=args.seed,
    )
    dist = distribute.make(args.strategy, args.peer_timeout)  # before any other TensorFlow work (multi-worker needs that)
    keras.utils.set_random_seed(args.seed)
    k = len(scan.classes)
    train_samples, val_samples = scan.splits["train"], scan.splits["val"]
    if options.source_weights:
        train_samples = dataset.reweighted(train_samples, options.source_weights, args.seed)
        shown = Counter(s.source for s in train_samples)
        print("training faces shown an epoch: " + ", ".join(f"{src} {n:,}" for src, n in shown.items()))
    if not val_samples:
        raise UserError(f"{', '.join(map(str, dirs))}: no usable validation picture; add pictures or raise --val-fraction")
    global_batch = options.batch_size * dist.replicas  # --batch-size is per replica
    train_ds = dataset.tf_dataset(
        train_samples, k, rule, global_batch, shuffle=True, seed=args.seed, epochs=range(epochs_from(args), args.epochs), smoothing=smoothing
    )
    if options.mixup:
        train_ds = dataset.mixup(train_ds, options.mixup, args.seed)
    val_ds = dataset.tf_dataset(val_samples, k, rule, 256, shuffle=False, smoothing=smoothing)  # val loss comparable with training's
    if dist.strategy is not None:
        train_ds, val_ds = distribute.shard_by_data(train_ds), distribute.shard_by_data(val_ds)
    weights = class_weights([s.label for s in train_samples], k, options.class_weights)
    source = load_source(args.init_from) if args.init_from else None
    widths = args.widths or (source and widths_of(source[1])) or DEFAULT_WIDTHS
    with dist.scope():  # the model's variables live on every replica
        classifier = build_classifier(k, rule.size, widths)
        init = init_features(*source, classifier) if source else None
        print(
            f"model: {classifier.count_params():,} parameters; class weights "
            + ", ".join(f"{scan.classes[c]} {w:.2f}" for c, w in weights.items())
            + (
                f"; {dist.name}: {dist.replicas} replica(s) on {dist.workers} worker(s), global batch {global_batch}"
                if dist.strategy
                else ""
            )
        )
        started = time.time()
        steps = -(-len(train_samples) // global_batch)
        try:
            history = fit(classifier, train_ds, val_ds, weights, steps, options, out, checkpoint=args.checkpoint)
        except Exception as err:  # a peer gone mid-step: TensorFlow may notice before the watcher does
            import tensorflow as tf

            if dist.name == "multiworker" and isinstance(err, tf.errors.OpError):
                dist.lost_peer(err)
            raise
    dist.peers_watch.set()  # the workers' shared part is over: each may now finish (and exit) on its own
    seconds = time.time() - started
    if not dist.chief:
        print(f"\ntrained {len(history.get('loss', []))} epochs as a worker in {seconds / 60:.1f} min; the chief writes the model")
        return NOT_CHIEF
    if dist.strategy is not None:  # a plain copy for saving and export, outside the strategy
        plain = build_classifier(k, rule.size, widths)
        plain.set_weights(classifier.get_weights())
        classifier = plain
    meta = build_metadata(
        classes=scan.classes,
        rule=rule,
        faces=args.faces,
        files={},
        command=command,
        data={
            "dir": str(dirs[0]) if len(dirs) == 1 else [str(d) for d in dirs],
            "layout": scan.layout,
            **({"labels": args.labels, "dropped": scan.dropped} if scan.layout in (*dataset.VOTE_LAYOUTS, dataset.VOTE_MIX) else {}),
            **({"sources": scan.source_counts()} if len(dirs) > 1 else {}),
            "fractions": [args.val_fraction, args.test_fraction],
            "files": scan.files,
            "counts": scan.counts(),
            "skipped": len(scan.skipped),
            "no_face": len(scan.no_face),
        },
        training={
            **options.to_dict(),
            "epochs_run": len(history.get("loss", [])),
            "best_epoch": best_epoch(history),
            "widths": list(widths),
            "seconds": round(seconds, 1),
            "seconds_per_epoch": round(seconds / max(1, len(history.get("loss", []))), 1),
            "strategy": dist.describe(options.batch_size),
            **({"init_from": init} if init else {}),
        },
    )
    model = with_flip_average(classifier) if args.flip_average else classifier
    meta["flip_average"] = args.flip_average
    metrics = save_and_evaluate(model, meta, scan, out, name, fit_bias_on=args.fit_class_bias)
    plot_curves(history, out)
    write_bad_files(scan.skipped, [p for p, _, _ in scan.no_face], out)

    print(
        f"\ntrained {meta['training']['epochs_run']} epochs in {seconds / 60:.1f} min on {meta['training']['device']}; best epoch {meta['training']['best_epoch']}"
    )
    for split, m in metrics.items():
        print(f"\n{split}:\n{format_report(m)}")
    for source, by_split in meta.get("metrics_by_source", {}).items():
        for split, m in by_split.items():
            print(f"\n{split}, {source} only:\n{format_report(m)}")
    if "calibration" in meta:
        c = meta["calibration"]
        print(f"\ncalibration: temperature {c['temperature']}, ECE on val {c['ece_before']:.4f} -> {c['ece_after']:.4f} (reliability.png)")
        if c.get("note"):
            print(f"note: {c['note']}")
    return 0


def epochs_from(args) -> int:
    """The first epoch this run trains: 0, or after the last finished one of the run it resumes."""
    state = read_state(args.checkpoint) if args.checkpoint else None
    return min(state["epoch"], args.epochs) if state else 0


def load_source(folder: Path) -> tuple[Path, object]:
    """The .keras file and model of the run that --init-from names."""
    from monitor.vision.models import resolve
    from train.model import base_network

    path = resolve(folder, prefer=".keras").with_suffix(".keras")
    return path, base_network(load_keras(path, "retrain it or pass another --init-from"))


def init_features(path: Path, source, classifier) -> dict:
    """Copy the features of another run's model (`source`, from `path`) into `classifier`; provenance for the metadata."""
    from monitor.vision.models import read_metadata
    from train.model import copy_features, widths_of, widths_text

    meta = read_metadata(path)
    try:
        copied = copy_features(source, classifier)
    except ValueError as err:
        raise UserError(f"{path}: cannot start from this model ({err}); it must be a plain model from this command") from None
    old, new = widths_of(source), widths_of(classifier)
    grown = f"; widened {widths_text(old)} -> {widths_text(new)}" if old != new else ""
    print(f"started from {copied} layers of {path} (classes {', '.join(meta['classes'])}{grown})")
    provenance = {"path": str(path.parent), "command": meta.get("command"), "classes": meta["classes"]}
    if earlier := meta.get("training", {}).get("init_from"):  # that run started from another: keep the whole chain
        provenance["init_from"] = earlier
    return provenance


def load_keras(path: Path, what_to_do: str):
    """A saved Keras model for more training or export; a damaged file is a user error."""
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a damaged file
        raise UserError(f"{path}: cannot load this Keras model ({type(err).__name__}); {what_to_do}") from None


def save_and_evaluate(model, meta: dict, scan, out: Path, data_name: str, calibrate: bool = True, fit_bias_on: str | None = None) -> dict:
    """Write both model files and the metadata, calibrate the confidence on val, then measure the saved model (as `evaluate` would).

    The temperature is fitted on the validation split's predictions of the saved model and
    built into the model files, so every backend gives calibrated probabilities.
    """
    from monitor.vision.classify import load_classifier
    from train.calibrate import calibrate as fit
    from train.calibrate import plot_reliability
    from train.evaluate import predict_split
    from train.export import save_models, write_metadata
    from train.model import with_temperature

    bias = meta.pop("class_bias", None)  # the temperature is fitted to the network's own probabilities
    meta["files"] = save_models(model, out)
    write_metadata(meta, out)  # needed to load the model back for evaluation
    if calibrate and scan.splits.get("val"):
        val = predict_split(load_classifier(out, prefer=".keras"), scan, "val")
        meta["calibration"] = fit(val.probs, val.y_true)
        t = meta["calibration"]["temperature"]
        plot_reliability(val.probs, val.y_true, t, out / "reliability.png", f"val ({data_name})")
        meta["files"] = save_models(with_temperature(model, t), out)
    if bias:
        meta["class_bias"] = bias
    if fit_bias_on:
        fit_operating_point(meta, scan, out, fit_bias_on)
    return remeasure(meta, scan, out, data_name)


def fit_operating_point(meta: dict, scan, out: Path, source: str) -> None:
    """Store the class bias that maximises balanced accuracy on `source`'s validation pictures (the model's own probabilities)."""
    import numpy as np

    from monitor.vision.classify import load_classifier
    from train.calibrate import fit_class_bias
    from train.evaluate import balanced_accuracy, predict_split

    part = scan.of_source(*source.split(","))
    if not part.splits.get("val"):
        raise UserError(f"--fit-class-bias {source}: no validation picture from there; name a folder with pictures in val")
    old = meta.pop("class_bias", None)
    write_meta(meta, out)  # the network's own probabilities are what the bias is fitted to
    try:
        val = predict_split(load_classifier(out, prefer=".keras"), part, "val")
    except BaseException:  # interrupted or failed: the run keeps the operating point it had
        if old:
            meta["class_bias"] = old
            write_meta(meta, out)
        raise
    bias = fit_class_bias(val.probs, val.y_true)
    k = len(val.classes)
    before = balanced_accuracy(val.y_true, val.probs.argmax(axis=1), k)
    after = balanced_accuracy(val.y_true, (np.log(np.maximum(val.probs, 1e-12)) + bias).argmax(axis=1), k)
    meta["class_bias"] = {c: round(float(b), 2) for c, b in zip(val.classes, bias) if round(float(b), 2)}
    meta["operating_point"] = {"fitted_on": f"val of {source}", "pictures": len(val.y_true), "balanced_accuracy_before": before, "after": after}
    shown = ", ".join(f"{c} {b:+g}" for c, b in meta["class_bias"].items()) or "none"
    print(f"operating point fitted on {len(val.y_true)} val pictures of {source}: class bias {shown}; balanced accuracy {before:.4f} -> {after:.4f}")


def write_meta(meta: dict, out: Path) -> None:
    from train.export import write_metadata

    write_metadata(meta, out)


def remeasure(meta: dict, scan, out: Path, data_name: str) -> dict:
    """Write the metadata and measure the saved model with it again (after a change that is metadata only)."""
    from monitor.vision.classify import load_classifier
    from train.evaluate import evaluate_scan
    from train.export import plot_confusion, write_metadata

    write_metadata(meta, out)
    classifier = load_classifier(out, prefer=".keras")
    metrics = {split: evaluate_scan(classifier, scan, split) for split in ("val", "test") if scan.splits.get(split)}
    meta["metrics"] = metrics
    sources = scan.source_counts()
    if len(sources) > 1:  # each data folder's pictures on their own: FER+ Valid and a real-face hold-out are different questions
        meta["metrics_by_source"] = {
            source: {split: evaluate_scan(classifier, scan.of_source(source), split) for split in ("val", "test") if split in splits}
            for source, splits in sources.items()
        }
    write_metadata(meta, out)
    main_split = "test" if "test" in metrics else "val"
    plot_confusion(metrics[main_split], out, f"{main_split} ({data_name})")
    return metrics


def run_export(argv: list[str]) -> int:
    args = export_parser().parse_args(argv)
    from monitor.vision.models import read_metadata
    from train import dataset
    from train.evaluate import format_report

    keras_path = args.run_dir / "model.keras"
    if not keras_path.is_file():
        raise UserError(f"{keras_path}: not found; give the output folder of a `python -m train` run")
    meta = read_metadata(keras_path)
    if not (args.flip_average or args.calibrate or args.class_bias or args.fit_class_bias):
        raise UserError("nothing to do: pass --flip-average, --calibrate, --class-bias and/or --fit-class-bias")
    if args.class_bias and args.fit_class_bias:
        raise UserError("--class-bias and --fit-class-bias both set the operating point; pass one")
    if args.class_bias:
        unknown = [c for c in args.class_bias if c not in meta["classes"]]
        if unknown:
            raise UserError(f"--class-bias: {', '.join(unknown)} is not a class of this model ({', '.join(meta['classes'])})")
    if args.flip_average and meta.get("flip_average"):
        raise UserError(f"{args.run_dir}: the model already averages over mirrored faces")
    if args.calibrate and not args.flip_average and meta.get("calibration"):
        raise UserError(f"{args.run_dir}: the model is already calibrated (temperature {meta['calibration']['temperature']})")
    dirs = dataset.as_dirs(meta["data"]["dir"])  # one folder (a string) or several (a list)
    for data_dir in dirs:
        if not data_dir.is_dir():
            raise UserError(f"{data_dir}: the training data (from metadata.json) is not there; run from the folder training ran in")
    check_source(args.fit_class_bias, dirs, "--fit-class-bias")
    from monitor.core.crop import CropRule
    from train.model import base_network, with_flip_average

    classifier = base_network(load_keras(keras_path, "retrain"))  # without an earlier temperature or mirror averaging
    rule = CropRule(**meta["crop_rule"])
    fractions = tuple(meta["data"].get("fractions", (0.15, 0.15)))
    scan = dataset.scan(
        dirs,
        meta["faces"],
        rule,
        meta["training"]["seed"],
        fractions,
        progress("checking pictures"),
        only_classes=meta["classes"],
        labels=meta["data"].get("labels", "votes"),
    )
    meta["metrics_before_export"] = meta.get("metrics")
    meta["export_command"] = "python -m train export " + shlex.join(argv)
    if args.class_bias:  # the operating point: metadata only, the network files stay as they are
        bias = {**meta.get("class_bias", {}), **args.class_bias}
        meta["class_bias"] = {c: b for c, b in bias.items() if b != 0}
    calibrate = False
    if args.flip_average or args.calibrate:
        meta["flip_average"] = bool(args.flip_average or meta.get("flip_average"))
        calibrate = bool(args.calibrate or meta.pop("calibration", None))  # a mirrored model's confidence is fitted anew
        model = with_flip_average(classifier) if meta["flip_average"] else classifier
        metrics = save_and_evaluate(model, meta, scan, args.run_dir, dataset.data_name(dirs), calibrate, args.fit_class_bias)
    else:
        if args.fit_class_bias:
            fit_operating_point(meta, scan, args.run_dir, args.fit_class_bias)
        metrics = remeasure(meta, scan, args.run_dir, dataset.data_name(dirs))
    for split, m in metrics.items():
        before = meta["metrics_before_export"][split]["balanced_accuracy"] if meta["metrics_before_export"] else float("nan")
        print(f"\n{split} (balanced accuracy before: {before:.4f}):\n{format_report(m)}")
    if "calibration" in meta:
        c = meta["calibration"]
        print(f"\ncalibration: temperature {c['temperature']}, ECE on val {c['ece_before']:.4f} -> {c['ece_after']:.4f}")
    files = "model.keras, model.tflite, metadata.json, confusion.png" if args.flip_average or args.calibrate else "metadata.json, confusion.png"
    print(f"\nwrote {args.run_dir}/: {files}" + (", reliability.png" if calibrate else ""))
    if meta.get("class_bias"):
        print("class bias (added to log-probabilities wherever the model is used): " + ", ".join(f"{c} {b:+g}" for c, b in meta["class_bias"].items()))
    return 0


def best_epoch(history: dict) -> int:
    scores = history.get("val_balanced_accuracy") or []
    return int(max(range(len(scores)), key=scores.__getitem__)) + 1 if scores else len(history.get("loss", []))


def report_scan(scan) -> None:
    counts = scan.counts()
    total = sum(sum(c.values()) for c in counts.values())
    print(f"{scan.files} files, {scan.layout}; classes: {', '.join(scan.classes)}")
    for split, per_class in counts.items():
        n = sum(per_class.values())
        pictures = len({s.path for s in scan.splits[split]})
        detail = ", ".join(f"{c} {v}" for c, v in per_class.items())
        print(f"  {split:<5} {n:>7} faces from {pictures} pictures ({n / max(total, 1):.0%}): {detail}")
    print("  (training counts faces; evaluation scores pictures, the largest face of each)")
    if scan.skipped or scan.no_face:
        print(f"  left out: {len(scan.skipped)} unreadable/too small, {len(scan.no_face)} without a face (listed in bad_files.csv)")
    for reason, n in scan.dropped.items():
        print(f"  left out: {n} vote-labelled pictures, {reason}")
    sources = scan.source_counts()
    if len(sources) > 1:
        for source, splits in sources.items():
            print(f"  from {source}: " + ", ".join(f"{split} {n}" for split, n in splits.items()))


def run_evaluate(argv: list[str]) -> int:
    args = evaluate_parser().parse_args(argv)
    from monitor.vision.classify import load_classifier
    from train import dataset
    from train.evaluate import format_report, metrics_of, mistakes, predict_split, restricted

    layout, _ = dataset.detect_layout(args.data_dir, args.classes)
    if args.errors:
        check_writable(args.errors.parent, "--errors path")
    classifier = load_classifier(args.model, prefer=".keras").with_class_bias(args.class_bias)
    unknown = [c for c in args.classes or [] if c not in classifier.classes]
    if unknown:
        raise UserError(f"--classes: {', '.join(unknown)} not a class of the model {classifier.path} ({', '.join(classifier.classes)})")
    split = "all"
    if layout == "split folders":
        split = "test" if (args.data_dir / "test").is_dir() else "val" if (args.data_dir / "val").is_dir() else "train"
    elif layout == dataset.VOTE_SPLITS:
        present = dataset.vote_labels.vote_splits(args.data_dir)
        split = "test" if "test" in present else "val" if "val" in present else "train"
    keep = None
    if args.held_out is not None:
        from monitor.vision.models import read_metadata, resolve

        meta = read_metadata(resolve(args.held_out)) if args.held_out else classifier.metadata
        keep = {p for p, _ in dataset.model_held_out(args.data_dir, meta)}
    scan = dataset.scan(
        args.data_dir,
        args.faces,
        classifier.crop_rule,
        only_split=split,
        only_classes=args.classes,
        progress=progress("reading") if not args.json else (lambda it: it),
        keep=keep,
    )
    pred = predict_split(classifier, scan, split)
    split = "held out" if keep is not None else split
    metrics = {"model": str(classifier.path), "data": str(args.data_dir), "split": split, **metrics_of(pred), "skipped": len(scan.skipped)}
    only = [c for c in classifier.classes if c in scan.classes]
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


def run_recipe(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog=program("train") + " recipe", description="The commands that remake a model, from its metadata, oldest step first."
    )
    p.add_argument("model", nargs="?", help="a shipped model's name or a model folder (default: the shipped default model)")
    args = add_common(p).parse_args(argv)
    from monitor.vision.models import read_metadata, resolve
    from train.recipe import problems, recipe

    path = resolve(args.model)
    meta = read_metadata(path)
    print(recipe(meta, path.parent.name))
    for problem in problems(meta):
        print(f"note: {problem}", file=sys.stderr)
    return 0


def run_benchmark(argv: list[str]) -> int:
    args = benchmark_parser().parse_args(argv)
    from train.benchmark import benchmark

    benchmark(args.model, args.repeats)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    native_logs.setup(verbose="--verbose" in argv)
    commands = {"evaluate": run_evaluate, "benchmark": run_benchmark, "export": run_export, "recipe": run_recipe}
    if argv and argv[0] in commands:
        return run_cli(lambda: commands[argv[0]](argv[1:]))
    return run_cli(lambda: run_train(argv))


def add_common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options every train command takes."""
    p.add_argument("--verbose", action="store_true", help="also show TensorFlow's and OpenCV's own messages")
    p.add_argument("--version", action="version", version=f"emotion-train {__version__}")
    return p


if __name__ == "__main__":
    sys.exit(main())
