"""Verify every picture of the data folder(s) and turn each face in it into a Sample of its split.

Every file is checked by decoding it. Files that cannot be used are skipped and reported,
never deleted; the user's folder is only ever read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from monitor.core.crop import CropRule
from monitor.core.errors import UserError
from monitor.core.types import Box
from monitor.io.pictures import ImageError, read_gray
from monitor.vision.detect import PictureSearch
from monitor.vision.text import BUNDLED_NAME, bundled_font, escaped, missing, runs
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
    result.warnings += font_warnings(classes)
    copies: dict[bytes, list[tuple[str, int]]] = {}  # a class-folder picture's content -> (path, class) of each copy
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
            if not soft:  # labelled by its folder: the same content in another class folder contradicts it
                copies.setdefault(_content(gray), []).append((str(path), label))
            boxes = faces_in(gray, modes.get(source, modes[""]), rule, detector)
            if not boxes:
                result.no_face.append((str(path), label, split))
            result.splits[split] += [Sample(str(path), label, box, target, source) for box in boxes]

    _leave_out_contradictions(result, copies)
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


def _content(gray: np.ndarray) -> bytes:
    """A digest of the decoded picture: identical files (and identical pixels however saved) share it."""
    return hashlib.blake2b(gray.tobytes(), digest_size=16, key=repr(gray.shape).encode()).digest()


def _leave_out_contradictions(result: Scan, copies: dict[bytes, list[tuple[str, int]]]) -> None:
    """A picture in two class folders teaches the model both classes at once: every copy is left out, listed and warned about once."""
    torn = [group for group in copies.values() if len({c for _, c in group}) > 1]
    if not torn:
        return
    names, why = result.classes, {}
    for group in torn:
        for path, label in group:
            other, its = next((p, c) for p, c in group if c != label)
            why[path] = f"the same picture as {other} (class {names[its]})"
    for split, samples in result.splits.items():
        result.splits[split] = [s for s in samples if s.path not in why]
    result.no_face = [n for n in result.no_face if n[0] not in why]
    result.skipped += list(why.items())
    (first, label), more = torn[0][0], f" ({len(why)} pictures like this, listed in bad_files.csv)" if len(why) > 2 else ""
    other, its = next((p, c) for p, c in torn[0] if c != label)
    result.warnings.append(
        f"{other}: the same picture as {first} (class {names[label]}), here in class {names[its]}; both left out{more}; "
        "keep each picture in one class folder"
    )


def font_warnings(classes: list[str]) -> list[str]:
    """A line when class names have letters the font the project ships lacks: where no other font has them, they are drawn escaped."""
    odd = [c for c in classes if missing(c)]
    if not odd:
        return []
    fallbacks = ", ".join(f"{c} as {escaped(c)}" for c in odd)
    here = {font.name for c in odd for _, font in runs(c)} - {bundled_font().name}
    return [
        f"class name{'s' if len(odd) > 1 else ''} {', '.join(odd)}: letters the bundled font ({BUNDLED_NAME}) lacks; "
        + (f"{', '.join(sorted(here))} draws them here, elsewhere " if here else "")
        + f"the overlay and plots show {fallbacks}"
    ]


def progress(desc: str) -> Callable[[Iterable], Iterable]:
    """A progress bar on stderr for scan()'s `progress`: reading many thousand pictures takes minutes."""
    import sys

    from tqdm import tqdm

    return lambda items: tqdm(items, desc=desc, unit="file", mininterval=1.0, file=sys.stderr)
