"""Scoring against labels given by eye: the truth file, a per-class tally, the largest face's label."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.core.errors import UserError
from monitor.core.types import Box

ROOT = Path(__file__).resolve().parents[2]  # the checkout: relative data paths in a run's metadata start here
SHARED = ROOT.parent / "shared"  # the shared data sets beside the checkout

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


def _fraction(t: dict) -> str:
    return f"{t['right']}/{t['scored']}" + (f" = {t['accuracy']:.3f}" if t["scored"] else "")
