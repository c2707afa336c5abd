"""`python -m monitor evaluate`: accuracy on real faces, with fer beside it."""

from __future__ import annotations

import json
from pathlib import Path

from monitor import program
from monitor.core.errors import UserError
from monitor.evaluation.photos import evaluate_photos, held_out_groups, own_held_out, picture_labeller
from monitor.evaluation.truth import SHARED
from monitor.evaluation.videos import evaluate_videos, fer_labeller, with_margin
from monitor.vision.classify import class_bias_arg

SHARED_TRUTH = SHARED / "videos" / "truth.json"


SHARED_PHOTOS = SHARED / "datasets" / "muxspace-photos"


def parser():
    import argparse

    from monitor.vision.classify import parse_classes

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
        type=class_bias_arg,
        metavar="CLASS=B,...",
        help="score the model at another operating point than its own (replaces its class bias), to choose one; "
        f"store the chosen one with `{program('train')} export MODEL --class-bias ...`",
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

    from monitor.vision.classify import load_classifier
    from monitor.vision.pipeline import make_pipeline, picture_pipeline

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
