"""A training run: read and check the pictures, build or start the network, fit it, and finish it into a work folder."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.errors import UserError
from monitor.core.metadata import ModelMetadata
from monitor.io import native_logs
from train.data import layout, sources
from train.data.samples import Scan
from train.data.scan import progress, scan
from train.finish import calibration_line, load_keras, save_and_evaluate
from train.options import FitOptions, read_state

if TYPE_CHECKING:
    import keras

NOT_CHIEF = -1  # train_into's answer on a multi-worker run's other workers


def train_into(args: argparse.Namespace, out: Path, command: str) -> int:
    """The training run proper, into an empty work folder."""
    from monitor.core.crop import CropRule

    rule = CropRule(size=args.size, margin=args.margin)
    dirs, name = args.data_dir, layout.data_name(args.data_dir)
    fractions = (args.val_fraction, args.test_fraction)
    data = scan(dirs, args.faces, rule, args.seed, fractions, progress("checking pictures"), only_classes=args.classes, labels=args.labels)
    report_scan(data)

    with native_logs.native_stderr():  # TensorFlow's start-up lines
        import keras

    from train import distribute
    from train.data.pipeline import mixup, tf_dataset
    from train.evaluate import format_report
    from train.export import build_metadata, plot_curves, write_bad_files
    from train.fit import class_weights, fit
    from train.model import DEFAULT_WIDTHS, build_classifier, widths_of, with_flip_average

    smoothing = sources.smoothing_by_source(args.label_smoothing)
    options = fit_options(args, smoothing)
    dist = distribute.make(args.strategy, args.peer_timeout)  # before any other TensorFlow work (multi-worker needs that)
    keras.utils.set_random_seed(args.seed)
    k = len(data.classes)
    train_samples, val_samples = data.splits["train"], data.splits["val"]
    if options.source_weights:
        train_samples = sources.reweighted(train_samples, options.source_weights, args.seed)
        shown = Counter(s.source for s in train_samples)
        print("training faces shown an epoch: " + ", ".join(f"{src} {n:,}" for src, n in shown.items()))
    if not val_samples:
        raise UserError(f"{', '.join(map(str, dirs))}: no usable validation picture; add pictures or raise --val-fraction")
    global_batch = options.batch_size * dist.replicas  # --batch-size is per replica
    train_ds = tf_dataset(
        train_samples, k, rule, global_batch, shuffle=True, seed=args.seed, epochs=range(epochs_from(args), args.epochs), smoothing=smoothing
    )
    if options.mixup:
        train_ds = mixup(train_ds, options.mixup, args.seed)
    val_ds = tf_dataset(val_samples, k, rule, 256, shuffle=False, smoothing=smoothing)  # val loss comparable with training's
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
            + ", ".join(f"{data.classes[c]} {w:.2f}" for c, w in weights.items())
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
    epochs_run = len(history.get("loss", []))
    training = {
        **options.to_dict(),
        "epochs_run": epochs_run,
        "best_epoch": best_epoch(history),
        "widths": list(widths),
        "seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / max(1, epochs_run), 1),
        "strategy": dist.describe(options.batch_size),
        **({"init_from": init} if init else {}),
    }
    meta = build_metadata(data.classes, rule, args.faces, {}, command, data_record(args, data), training)
    model = with_flip_average(classifier) if args.flip_average else classifier
    meta = save_and_evaluate(model, meta.but(flip_average=args.flip_average), data, out, name, fit_bias_on=args.fit_class_bias)
    plot_curves(history, out)
    write_bad_files(data.skipped, [p for p, _, _ in data.no_face], out)

    print(f"\ntrained {epochs_run} epochs in {seconds / 60:.1f} min on {meta.training['device']}; best epoch {training['best_epoch']}")
    for split, m in meta.metrics.items():
        print(f"\n{split}:\n{format_report(m)}")
    for source_name, by_split in (meta.metrics_by_source or {}).items():
        for split, m in by_split.items():
            print(f"\n{split}, {source_name} only:\n{format_report(m)}")
    if meta.calibration:
        print(calibration_line(meta.calibration) + " (reliability.png)")
        if meta.calibration.note:
            print(f"note: {meta.calibration.note}")
    return 0


def fit_options(args: argparse.Namespace, smoothing: dict[str, float]) -> FitOptions:
    """The hyper-parameters of `python -m train`'s options; `smoothing` is --label-smoothing by data folder."""
    return FitOptions(
        args.epochs,
        args.batch_size,
        args.learning_rate,
        label_smoothing=smoothing[""],
        label_smoothing_by_source={k: v for k, v in smoothing.items() if k},
        source_weights={k: v for k, v in sources.weights_by_source(args.source_weights).items() if k},
        patience=args.patience,
        warmup_epochs=args.warmup_epochs,
        mixup=args.mixup,
        class_weights=args.class_weights,
        seed=args.seed,
    )


def data_record(args: argparse.Namespace, data: Scan) -> dict:
    """The metadata's record of what the run read: its folders, their layout, the split fractions, the counts."""
    dirs = args.data_dir
    return {
        "dir": str(dirs[0]) if len(dirs) == 1 else [str(d) for d in dirs],
        "layout": data.layout,
        **({"labels": args.labels, "dropped": data.dropped} if data.layout in (*layout.VOTE_LAYOUTS, layout.VOTE_MIX) else {}),
        **({"sources": data.source_counts()} if len(dirs) > 1 else {}),
        "fractions": [args.val_fraction, args.test_fraction],
        "files": data.files,
        "counts": data.counts(),
        "skipped": len(data.skipped),
        "no_face": len(data.no_face),
    }


def epochs_from(args: argparse.Namespace) -> int:
    """The first epoch this run trains: 0, or after the last finished one of the run it resumes."""
    state = read_state(args.checkpoint) if args.checkpoint else None
    return min(state["epoch"], args.epochs) if state else 0


def load_source(folder: Path) -> tuple[Path, keras.Model]:
    """The .keras file and model of the run that --init-from names."""
    from monitor.vision.models import resolve
    from train.model import base_network

    path = resolve(folder, prefer=".keras").with_suffix(".keras")
    return path, base_network(load_keras(path, "retrain it or pass another --init-from"))


def init_features(path: Path, source: keras.Model, classifier: keras.Model) -> dict:
    """Copy the features of another run's model (`source`, from `path`) into `classifier`; provenance for the metadata."""
    from monitor.vision.models import read_metadata
    from train.model import copy_features, widths_of, widths_text

    meta = ModelMetadata.from_dict(read_metadata(path))
    try:
        copied = copy_features(source, classifier)
    except ValueError as err:
        raise UserError(f"{path}: cannot start from this model ({err}); it must be a plain model from this command") from None
    old, new = widths_of(source), widths_of(classifier)
    grown = f"; widened {widths_text(old)} -> {widths_text(new)}" if old != new else ""
    print(f"started from {copied} layers of {path} (classes {', '.join(meta.classes)}{grown})")
    provenance = {"path": str(path.parent), "command": meta.command, "classes": list(meta.classes)}
    if earlier := meta.init_from:  # that run started from another: keep the whole chain
        provenance["init_from"] = earlier
    return provenance


def best_epoch(history: dict) -> int:
    scores = history.get("val_balanced_accuracy") or []
    return int(max(range(len(scores)), key=scores.__getitem__)) + 1 if scores else len(history.get("loss", []))


def report_scan(data: Scan) -> None:
    counts = data.counts()
    total = sum(sum(c.values()) for c in counts.values())
    print(f"{data.files} files, {data.layout}; classes: {', '.join(data.classes)}")
    for split, per_class in counts.items():
        n = sum(per_class.values())
        pictures = len({s.path for s in data.splits[split]})
        detail = ", ".join(f"{c} {v}" for c, v in per_class.items())
        print(f"  {split:<5} {n:>7} faces from {pictures} pictures ({n / max(total, 1):.0%}): {detail}")
    print("  (training counts faces; evaluation scores pictures, the largest face of each)")
    if data.skipped or data.no_face:
        print(f"  left out: {len(data.skipped)} unreadable/too small/in two classes, {len(data.no_face)} without a face (listed in bad_files.csv)")
    for reason, n in data.dropped.items():
        print(f"  left out: {n} vote-labelled pictures, {reason}")
    for warning in data.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    found = data.source_counts()
    if len(found) > 1:
        for source, splits in found.items():
            print(f"  from {source}: " + ", ".join(f"{split} {n}" for split, n in splits.items()))
