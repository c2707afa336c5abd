"""Scoring the monitor (and a peer) on videos labelled by eye, frame by frame, as the monitor shows them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from monitor.core.errors import UserError
from monitor.evaluation.truth import FER_CLASSES, Labeller, Tally, _fraction, largest, load_truth, score_video
from monitor.io.paths import opencv_path


def monitor_labels(path: Path, pipeline) -> Iterable[tuple[int, str | None]]:
    """What the monitor shows, frame by frame, in batch mode: the smoothed label of the largest face."""
    from monitor.apps.loop import FrameLoop
    from monitor.io.sources import frames, open_source

    source = open_source(str(path))
    try:
        for result in FrameLoop(pipeline).run(frames(source)):
            yield result.frame.index, largest((f.box, f.smoothed.label) for f in result.faces)
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
    from monitor.io.native_logs import native_stderr

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
