"""Data for the train tests: class folders of real faces cut from FER+ by majority vote, and small copies of class folders."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from tests.conftest import SHARED, _need

# FER+'s vote columns (after file name and face box), named as FER-2013's class folders; then unknown and NF
FERPLUS_CLASSES = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
FERPLUS_SPLITS = {"train": "FER2013Train", "val": "FER2013Valid"}


def ferplus_faces(dst: Path, split: str, per_class: int, classes: tuple[str, ...] = ("happy", "sad")) -> Path:
    """Class folders dst/<class>/ of the first `per_class` FER+ pictures of `split` whose one most-voted class is each class.

    The same 48x48 faces as FER-2013's folders (FER+ relabelled them by ten votes each), copied.
    """
    src = _need(SHARED / "datasets" / "ferplus") / FERPLUS_SPLITS[split]
    picked: dict[str, list[str]] = {c: [] for c in classes}
    with (src / "label.csv").open(newline="") as f:
        for row in csv.reader(f):
            votes = [int(v) for v in row[2:12]]
            top = max(votes)
            name = FERPLUS_CLASSES[votes.index(top)] if votes.count(top) == 1 and votes.index(top) < len(FERPLUS_CLASSES) else None
            if name in picked and len(picked[name]) < per_class:
                picked[name].append(row[0])
    for name, files in picked.items():
        assert len(files) == per_class, f"FER+ {split} has only {len(files)} {name} faces"
        (dst / name).mkdir(parents=True)
        for file in files:
            shutil.copy(src / file, dst / name / file)
    return dst


def slice_of(src: Path, dst: Path, per_class: int) -> Path:
    """A small copy of a class-folder tree (the first files of each class)."""
    for class_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        (dst / class_dir.name).mkdir(parents=True)
        for f in sorted(class_dir.iterdir())[:per_class]:
            shutil.copy(f, dst / class_dir.name / f.name)
    return dst
