"""Verify every picture of the data folder(s) and turn each face in it into a Sample of its split.

Every file is checked by decoding it. Files that cannot be used are skipped and reported,
never deleted; the user's folder is only ever read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from monitor.core.crop import CropRule
from monitor.core.errors import UserError
from monitor.core.types import Box
from monitor.io.pictures import ImageError, read_gray
from monitor.vision.detect import PictureSearch
from train.data.layout import VOTE_LAYOUTS, as_dirs, detect_layout
from train.data.listing import listing, once
from train.data.samples import Sample, Scan, source_of
from train.data.sources import face_modes

# In `auto` mode a picture is taken whole (a ready-made face crop, like FER-2013's 48x48)
# when it is roughly square and at most this many times the model's input size.
WHOLE_MAX_FACTOR = 3
WHOLE_MAX_ASPECT = 1.25


def faces_in(gray: np.ndarray, mode: str, rule: CropRule, detector: Callable[[np.ndarray], list[Box]] | None) -> list[Box | None]:
    """The faces a picture contributes: [None] for the whole picture, boxes found, or []."""
    h, w = gray.shape
    if mode == "whole":
        return [None]
    if mode == "auto" and max(h, w) <= WHOLE_MAX_FACTOR * rule.size and max(h, w) / min(h, w) <= WHOLE_MAX_ASPECT:
        return [None]
    return list(detector(gray)) if detector else []


def scan(
    data_dirs: str | Path | list,
    faces: str = "auto",
    rule: CropRule | None = None,
    seed: int = 0,
    fractions: tuple[float, float] = (0.15, 0.15),
    progress: Callable[[Iterable], Iterable] = lambda it: it,
    only_split: str | None = None,
    only_classes: list[str] | None = None,
    labels: str = "votes",
    keep: set[Path] | None = None,
) -> Scan:
    """Verify every picture under the data folder(s) and turn it into samples per split.

    `only_split` (evaluation) reads a single split: the class folders themselves, or in a
    split layout the given split's folders. `only_classes` keeps just those class folders.
    `labels` ('votes' or 'majority') says what vote-labelled pictures train against; their
    `label` is always the majority class, which evaluation scores. `keep` reads only those
    files (a model's held-out pictures).
    """
    dirs = as_dirs(data_dirs)
    data_dir = ", ".join(map(str, dirs))  # for messages
    rule = rule or CropRule()
    layout, classes = detect_layout(dirs, only_classes)
    dropped: dict[str, int] = {}
    listed = listing(dirs, layout, classes, only_split, fractions, seed, labels == "votes", dropped)
    if keep is not None:
        listed = {split: [item for item in items if Path(item[0]) in keep] for split, items in listed.items()}
    listed = once(listed)
    if not any(listed.values()) and dropped and layout in VOTE_LAYOUTS:  # said before any progress bar is drawn
        reasons = "; ".join(f"{n} {reason}" for reason, n in dropped.items())
        raise UserError(f"{data_dir}: every picture of label.csv was left out ({reasons}); check its votes and --classes")

    modes = face_modes(faces)
    detector = PictureSearch().detect if set(modes.values()) != {"whole"} else None  # the same thorough search as photo mode
    roots = {d.resolve(): d.resolve().name for d in dirs}
    result = Scan(classes=classes, splits={s: [] for s in listed}, layout=layout, dropped=dropped, roots=roots)
    for split, items in listed.items():
        for path, label, *soft in progress(items):
            target = soft[0] if soft else None
            source = source_of(path, result.roots)
            result.files += 1
            try:
                gray = read_gray(path)
            except (ImageError, OSError) as err:
                result.skipped.append((str(path), str(err)))
                continue
            boxes = faces_in(gray, modes.get(source, modes[""]), rule, detector)
            if not boxes:
                result.no_face.append((str(path), label, split))
            result.splits[split] += [Sample(str(path), label, box, target, source) for box in boxes]

    usable = sum(len(v) for v in result.splits.values())
    if usable == 0 and not (only_split and result.no_face):  # evaluation may legitimately find no face
        raise UserError(
            f"{data_dir}: no usable picture found ({len(result.skipped)} skipped, {len(result.no_face)} without a face); check the folder and --faces"
        )
    if "train" in result.splits and not only_split:
        have = {s.label for s in result.splits["train"]}
        missing = [c for i, c in enumerate(classes) if i not in have]
        if missing:
            raise UserError(f"{data_dir}: no usable training picture for class {', '.join(missing)}; add pictures to that folder")
    return result


def progress(desc: str) -> Callable[[Iterable], Iterable]:
    """A progress bar on stderr for scan()'s `progress`: reading many thousand pictures takes minutes."""
    import sys

    from tqdm import tqdm

    return lambda items: tqdm(items, desc=desc, unit="file", mininterval=1.0, file=sys.stderr)
