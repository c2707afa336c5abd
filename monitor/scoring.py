"""Scoring the monitor on real faces: videos labelled by eye, and photos with one face each.

FER's own crops are not what a webcam shows, so the project measures itself the way a user
meets it: the label the monitor shows for the largest face of each annotated video frame
(a frame without a face counts wrong), and on folders of photos whether a face is found and
labelled right. The `fer` package, when installed, is scored on the same frames and pictures
so every number has its peer beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from monitor import program
from monitor.errors import UserError
from monitor.faces import Box
from monitor.paths import opencv_path

FER_CLASSES = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}  # what the fer package scores
# A labeller maps a BGR image to the largest face's label (None: no face found).
Labeller = Callable[[np.ndarray], str | None]


@dataclass
class Tally:
    """Right answers per true class, and how many of the misses had no face at all."""

    right: Counter = field(default_factory=Counter)
    total: Counter = field(default_factory=Counter)
    no_face: Counter = field(default_factory=Counter)

    def add(self, truth: str, shown: str | None) -> None:
        self.total[truth] += 1
        if shown is None:
            self.no_face[truth] += 1
        elif shown == truth:
            self.right[truth] += 1

    def merge(self, other: Tally) -> None:
        self.right.update(other.right)
        self.total.update(other.total)
        self.no_face.update(other.no_face)

    def to_dict(self) -> dict:
        n, r = sum(self.total.values()), sum(self.right.values())
        recalls = [self.right[c] / self.total[c] for c in self.total if self.total[c]]
        return {
            "scored": n,
            "right": r,
            "accuracy": r / n if n else None,
            "mean_recall": sum(recalls) / len(recalls) if recalls else None,  # every labelled class counts alike
            "no_face": sum(self.no_face.values()),
            "per_class": {
                c: {"right": self.right[c], "total": self.total[c], "no_face": self.no_face[c], "accuracy": self.right[c] / self.total[c]}
                for c in sorted(self.total)
            },
        }


def load_truth(path: Path) -> dict[str, dict[int, str]]:
    """`truth.json` as {video file name: {frame index: label}} (ranges are inclusive, 0-based)."""
    try:
        raw = json.loads(path.read_text())
        out = {}
        for video, entry in raw.items():
            labels: dict[int, str] = {}
            for first, last, label in entry["ranges"]:
                labels.update(dict.fromkeys(range(int(first), int(last) + 1), str(label)))
            out[video] = labels
    except FileNotFoundError:
        raise UserError(f"{path}: truth file not found; pass --videos with a truth.json (see ../shared/videos/README.md)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise UserError(
            f"{path}: not a truth file ({type(err).__name__}: {err}); expected {{VIDEO: {{'ranges': [[FIRST, LAST, LABEL], ...]}}}}"
        ) from None
    return out


def largest(boxes_and_labels: Iterable[tuple[Box, str]]) -> str | None:
    best = max(boxes_and_labels, key=lambda bl: bl[0].area, default=None)
    return best[1] if best else None


def score_video(
    path: Path, labels: dict[int, str], classes: tuple[str, ...], shown_labels: Iterable[tuple[int, str | None]]
) -> tuple[Tally, Counter]:
    """Tally one video: `shown_labels` yields (frame index, label shown for the largest face)."""
    tally, skipped = Tally(), Counter()
    for index, shown in shown_labels:
        truth = labels.get(index)
        if truth is None:
            continue
        if truth not in classes:
            skipped[truth] += 1
            continue
        tally.add(truth, shown)
    return tally, skipped


def monitor_labels(path: Path, pipeline) -> Iterable[tuple[int, str | None]]:
    """What the monitor shows, frame by frame, in batch mode: the smoothed label of the largest face."""
    from monitor.sources import frames, open_source

    source = open_source(str(path))
    try:
        for frame in frames(source):
            result = pipeline.analyze(frame)
            yield frame.index, largest((f.box, f.smoothed.label) for f in result.faces)
    finally:
        source.release()


def peer_labels(path: Path, labeller: Labeller, wanted: set[int]) -> Iterable[tuple[int, str | None]]:
    """A per-frame labeller (the `fer` package) over the annotated frames only (it keeps no state)."""
    with opencv_path(path) as name:
        cap = cv2.VideoCapture(name)
    index = 0
    try:
        while index <= max(wanted, default=-1):
            if index in wanted:
                ok, image = cap.read()
                if not ok:
                    return
                yield index, labeller(image)
            elif not cap.grab():
                return
            index += 1
    finally:
        cap.release()


def fer_labeller(classes: tuple[str, ...]) -> Labeller | None:
    """The `fer` package (Haar + mini-Xception) choosing among this model's classes; None if not installed."""
    from monitor.quiet import native_stderr

    try:
        with native_stderr():
            from fer.fer import FER
    except ImportError:
        return None
    with native_stderr():
        detector = FER(mtcnn=False)
    usable = [c for c in classes if c in FER_CLASSES]

    def label(image: np.ndarray) -> str | None:
        found = detector.detect_emotions(image)
        if not found:
            return None
        face = max(found, key=lambda f: f["box"][2] * f["box"][3])
        return max(usable, key=lambda c: face["emotions"][c])

    return label if len(usable) >= 2 else None


def with_margin(classifier, margin: float | None):
    """The classifier with another crop margin, for measuring crop rules (normal use takes the model's own)."""
    return classifier if margin is None else classifier.with_crop_rule(replace(classifier.crop_rule, margin=margin))


def evaluate_videos(
    truth_path: Path, make_pipeline: Callable[[], object], classes: tuple[str, ...], peer: Labeller | None, progress=print
) -> dict:
    """Score every video of a truth file: the monitor and, when given, the peer; per video and overall."""
    truth = load_truth(truth_path)
    folder = truth_path.parent
    result: dict = {"truth": str(truth_path), "classes": list(classes), "videos": {}, "skipped_labels": {}}
    overall, overall_peer, skipped_all = Tally(), Tally(), Counter()
    for video, labels in truth.items():
        path = folder / video
        if not path.is_file():
            raise UserError(f"{path}: video named in {truth_path} not found; keep the videos beside their truth file")
        tally, skipped = score_video(path, labels, classes, monitor_labels(path, make_pipeline()))
        entry = {"monitor": tally.to_dict()}
        overall.merge(tally)
        skipped_all.update(skipped)
        if peer:
            wanted = {i for i, label in labels.items() if label in classes}
            peer_tally, _ = score_video(path, labels, classes, peer_labels(path, peer, wanted))
            entry["fer"] = peer_tally.to_dict()
            overall_peer.merge(peer_tally)
        if skipped:
            entry["skipped_labels"] = dict(skipped)
        result["videos"][video] = entry
        progress(f"{video}: monitor {_fraction(entry['monitor'])}" + (f", fer {_fraction(entry['fer'])}" if peer else ""))
    result["overall"] = {"monitor": overall.to_dict(), **({"fer": overall_peer.to_dict()} if peer else {})}
    result["skipped_labels"] = dict(skipped_all)
    return result


def picture_labeller(pipeline) -> Labeller:
    """The monitor's photo mode as a labeller: the thorough search, the largest face's label."""
    from monitor.sources import Frame

    def label(image: np.ndarray) -> str | None:
        pipeline.reset()
        result = pipeline.analyze(Frame(image, 0, 0.0, 0.0))
        return largest((f.box, f.raw.label) for f in result.faces)

    return label


def photo_groups(folder: Path) -> list[tuple[str, list[Path]]]:
    """(class name, pictures) per subfolder of a photo folder (or the folder's own pictures under its name)."""
    from monitor.photos import list_pictures

    if not folder.is_dir():
        raise UserError(f"{folder}: photo folder not found; pass --photos with a folder of pictures (one subfolder per class)")
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [(p.name, list_pictures(p, recursive=True)) for p in subfolders] or [(folder.name, list_pictures(folder, recursive=True))]


def held_out_groups(folder: Path, meta: dict) -> list[tuple[str, list[Path]]]:
    """(class name, pictures) of the part of a class-folder set that the model's training run held out (never trained on)."""
    from train.dataset import model_held_out  # the split rule lives with training; this reads no TensorFlow

    pictures = model_held_out(folder, meta)
    return [(c, [p for p, i in pictures if i == k]) for k, c in enumerate(meta["classes"]) if any(i == k for _, i in pictures)]


def evaluate_photos(
    folder: Path,
    classes: tuple[str, ...],
    monitor: Labeller,
    peer: Labeller | None,
    limit: int | None,
    progress=print,
    groups: list[tuple[str, list[Path]]] | None = None,
) -> dict:
    """Face-finding recall, and accuracy for folders named like a model class, on folders of photos.

    `folder` holds one subfolder per class (or the pictures themselves); every picture should
    hold a face, so a picture without one found counts as a miss (and as wrong). `groups`
    gives the pictures per class instead (a model's held-out pictures of `folder`).
    """
    from monitor.images import ImageError, read_bgr

    groups = photo_groups(folder) if groups is None else groups
    result: dict = {"folder": str(folder), "limit": limit, "classes": {}}
    for name, pictures in groups:
        counts: Counter = Counter()
        for path in pictures[:limit]:
            try:
                image = read_bgr(path)
            except (ImageError, OSError):
                counts["skipped"] += 1
                continue
            counts["pictures"] += 1
            for who, labeller in (("monitor", monitor), ("fer", peer)):
                if labeller:
                    shown = labeller(image)
                    counts[f"{who}_found"] += shown is not None
                    counts[f"{who}_right"] += shown == name
        n = counts["pictures"]
        entry: dict = {"pictures": n, "skipped": counts["skipped"]}
        for who, labeller in (("monitor", monitor), ("fer", peer)):
            if labeller:
                found = counts[f"{who}_found"]
                entry[who] = {"found": found, "recall": found / n if n else None}
                if name in classes:
                    entry[who].update(right=counts[f"{who}_right"], accuracy=counts[f"{who}_right"] / n if n else None)
        result["classes"][name] = entry
        progress(f"{name}: face found in {counts['monitor_found']}/{n}" + (f" (fer {counts['fer_found']}/{n})" if peer else ""))
    return result


def _fraction(t: dict) -> str:
    return f"{t['right']}/{t['scored']}" + (f" = {t['accuracy']:.3f}" if t["scored"] else "")


ROOT = Path(__file__).resolve().parent.parent
SHARED_TRUTH = ROOT.parent / "shared" / "videos" / "truth.json"
SHARED_PHOTOS = ROOT.parent / "shared" / "datasets" / "muxspace-photos"


def _class_bias(text: str) -> dict[str, float]:
    import argparse

    from monitor.classifier import parse_class_bias

    try:
        return parse_class_bias(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parser():
    import argparse

    from monitor.classifier import parse_classes

    p = argparse.ArgumentParser(
        prog=program("monitor") + " evaluate",
        description="Score the monitor on real faces: videos labelled by eye (truth.json) and folders of photos, with fer beside it.",
    )
    p.add_argument(
        "--videos", type=Path, metavar="TRUTH.json", help="truth file; its videos sit beside it (default: ../shared/videos/truth.json)"
    )
    p.add_argument(
        "--photos",
        type=Path,
        metavar="DIR",
        help="folder of photos, one subfolder per class, one face each (default: ../shared/datasets/muxspace-photos)",
    )
    p.add_argument(
        "--held-out",
        type=Path,
        metavar="DIR",
        help="a class-folder set the model learnt from beside others: score its pictures that the training run held out "
        "(default: each such folder of the model's run that is here, e.g. ../shared/datasets/affectnet)",
    )
    p.add_argument("--model", type=Path, help="model file or folder (default: the shipped model)")
    p.add_argument(
        "--classes",
        type=parse_classes,
        metavar="NAME,NAME,...",
        help="score the model choosing only among these of its classes (as the monitor's --classes)",
    )
    p.add_argument(
        "--class-bias",
        type=_class_bias,
        metavar="CLASS=B,...",
        help="score the model at another operating point than its own (replaces its class bias), to choose one; "
        "store the chosen one with `python -m train export MODEL --class-bias ...`",
    )
    p.add_argument("--per-class", type=int, metavar="N", help="photos: only the first N pictures of each folder (default: all)")
    p.add_argument("--detect-every", type=int, default=4, help="as for the monitor (default 4)")
    p.add_argument("--smooth", type=int, default=5, help="as for the monitor (default 5)")
    p.add_argument("--margin", type=float, help="measure another crop margin than the model's (for choosing the crop rule)")
    p.add_argument("--no-fer", action="store_true", help="do not score the fer package even when it is installed")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--verbose", action="store_true", help="also show the libraries' own messages")
    return p


def main(argv: list[str]) -> int:
    import sys

    from monitor.classifier import load_classifier
    from monitor.pipeline import make_pipeline, picture_pipeline

    args = parser().parse_args(argv)
    if min(args.detect_every, args.smooth) < 1:
        raise UserError("--detect-every and --smooth must be at least 1")
    if args.per_class is not None and args.per_class < 1:
        raise UserError("--per-class must be at least 1")
    videos, photos, held = args.videos, args.photos, [args.held_out] if args.held_out else []
    if videos is None and photos is None and not held:
        videos, photos = SHARED_TRUTH, SHARED_PHOTOS
        held = None  # the model's own class-folder training folders that are here
        if not SHARED_TRUTH.is_file():
            raise UserError(
                "no shared data beside this program (it is not run from a checkout next to ../shared); "
                "pass --videos TRUTH.json and/or --photos DIR"
            )
    classifier = with_margin(load_classifier(args.model).with_class_bias(args.class_bias).restricted(args.classes), args.margin)
    peer = None if args.no_fer else fer_labeller(classifier.classes)
    say = (lambda text: print(text, file=sys.stderr)) if not args.json else (lambda text: None)
    result: dict = {"model": str(classifier.path), "crop_rule": classifier.crop_rule.to_dict(), "fer": peer is not None}
    if classifier.metadata.get("class_bias") or args.class_bias is not None:
        result["class_bias"] = classifier.metadata.get("class_bias", {})
    if videos:
        result["videos"] = evaluate_videos(
            videos, lambda: make_pipeline(classifier, args.smooth, args.detect_every), classifier.classes, peer, progress=say
        )
    if photos:
        result["photos"] = evaluate_photos(
            photos, classifier.classes, picture_labeller(picture_pipeline(classifier)), peer, args.per_class, say
        )
    for folder in own_held_out(classifier.metadata) if held is None else held:
        groups = held_out_groups(folder, classifier.metadata)
        result.setdefault("held_out", []).append(
            evaluate_photos(folder, classifier.classes, picture_labeller(picture_pipeline(classifier)), peer, args.per_class, say, groups)
        )
    print(json.dumps(result) if args.json else format_result(result))
    return 0


def own_held_out(meta: dict) -> list[Path]:
    """The class-folder sets among a model's training folders that are here (paths as recorded, from the project root)."""
    dirs = meta.get("data", {}).get("dir")
    found = []
    for d in dirs if isinstance(dirs, list) else []:  # a single-folder run holds out only within its own folder
        path = Path(d) if Path(d).is_absolute() else ROOT / d
        if path.is_dir() and not (path / "label.csv").exists() and not (path / "train").is_dir() and not any(path.glob("*/label.csv")):
            found.append(path)
    return found


def format_result(result: dict) -> str:
    """Tables: per video and overall (share of annotated frames right, per class), then photos."""
    lines = [f"model {result['model']}, crop margin {result['crop_rule']['margin']}" + ("" if result["fer"] else "; fer not installed")]
    if "videos" in result:
        v = result["videos"]
        classes = [c for c in v["classes"] if any(c in e["monitor"]["per_class"] for e in v["videos"].values())]
        who = ["monitor", "fer"] if result["fer"] else ["monitor"]
        head = f"{'video':<24}" + "".join(f"{w + ' ' + c:>20}" for w in who for c in [*classes, "all"])
        lines += ["", "annotated video frames shown right (largest face; no face = wrong)", head]
        for name, entry in [*v["videos"].items(), ("ALL", v["overall"])]:
            cells = []
            for w in who:
                t = entry[w]
                for c in classes:
                    pc = t["per_class"].get(c)
                    cells.append(f"{pc['right']}/{pc['total']}" if pc else "")
                cells.append(f"{t['right']}/{t['scored']} {t['accuracy']:.3f}" if t["scored"] else "not scored")
            lines.append(f"{Path(name).stem:<24}" + "".join(f"{c:>20}" for c in cells))
        for w in who:
            t = v["overall"][w]
            if t["scored"]:
                recalls = ", ".join(f"{c} {t['per_class'][c]['accuracy']:.3f}" for c in classes if c in t["per_class"])
                lines.append(f"{w} recall per class: {recalls}; mean {t['mean_recall']:.3f}")
        if v["skipped_labels"]:
            lines.append(
                "frames with labels the model does not have (not scored): " + ", ".join(f"{k} {n}" for k, n in v["skipped_labels"].items())
            )
    blocks = [("photos in", result["photos"])] if "photos" in result else []
    for title, p in blocks + [("held-out pictures of", h) for h in result.get("held_out", [])]:
        lines += ["", f"{title} {p['folder']}" + (f" (first {p['limit']} of each folder)" if p["limit"] else "")]
        lines.append(
            f"{'folder':<14}{'pictures':>9}{'face found':>12}{'right':>10}"
            + (f"{'fer found':>12}{'fer right':>10}" if result["fer"] else "")
        )
        for name, e in p["classes"].items():
            row = f"{name:<14}{e['pictures']:>9}{e['monitor']['recall']:>12.3f}" + (
                f"{e['monitor']['accuracy']:>10.3f}" if "accuracy" in e["monitor"] else f"{'':>10}"
            )
            if "fer" in e:
                row += f"{e['fer']['recall']:>12.3f}" + (f"{e['fer']['accuracy']:>10.3f}" if "accuracy" in e["fer"] else f"{'':>10}")
            lines.append(row)
        for who in ("monitor", "fer"):
            recalls = [e[who]["accuracy"] for e in p["classes"].values() if who in e and e[who].get("accuracy") is not None]
            if len(recalls) > 1:
                lines.append(f"{who} mean recall over the {len(recalls)} classes: {sum(recalls) / len(recalls):.3f}")
    return "\n".join(lines)
