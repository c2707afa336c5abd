"""The command line of every train command: its options, their help and their types (no TensorFlow, so --help is instant)."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor import __version__, program
from monitor.vision.classify import class_bias_arg
from train.distribute import PEER_TIMEOUT_S

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
        type=class_bias_arg,
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
        type=class_bias_arg,
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


def benchmark_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=program("train") + " benchmark", description="Per-face classification time of a model on this machine.")
    p.add_argument("--model", type=Path, help="model folder or shipped model's name (default: the shipped default model)")
    p.add_argument("--repeats", type=int, default=200, help="timed calls per measurement (default 200)")
    return add_common(p)


def recipe_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program("train") + " recipe", description="The commands that remake a model, from its metadata, oldest step first."
    )
    p.add_argument("model", nargs="?", help="a shipped model's name or a model folder (default: the shipped default model)")
    return add_common(p)


def add_common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options every train command takes."""
    p.add_argument("--verbose", action="store_true", help="also show TensorFlow's and OpenCV's own messages")
    p.add_argument("--version", action="version", version=f"emotion-train {__version__}")
    return p
