"""The split rule: which pictures of a data folder a training run learns from, and which it holds out.

Training splits each class folder once (seeded, stratified, by file); evaluation recomputes the
same split from a model's metadata to score it on pictures it never saw. Both call this module,
so the two cannot disagree (and the monitor's evaluation needs no training code).
"""

from __future__ import annotations

import random
from pathlib import Path

from monitor.core.errors import UserError
from monitor.core.metadata import DEFAULT_FRACTIONS, ModelMetadata

SPLITS = ("train", "val", "test")
LABEL_FILE = "label.csv"  # a vote-labelled folder (FER+) has one beside its pictures
SPLIT_FOLDERS = {"train": "train", "val": "val", "test": "test", "FER2013Train": "train", "FER2013Valid": "val", "FER2013Test": "test"}


def class_folders(folder: Path) -> list[str]:
    """Sorted names of the non-hidden subfolders: the class names."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_files(folder: Path) -> list[Path]:
    """Every non-hidden file below a class folder, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def split_files(files_by_class: dict[int, list[Path]], fractions: tuple[float, float], seed: int) -> dict[str, list[tuple[Path, int]]]:
    """Stratified, seeded split into train/val/test by file (never by face, so no leakage)."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[Path, int]]] = {s: [] for s in SPLITS}
    for label, files in sorted(files_by_class.items()):
        files = list(files)
        rng.shuffle(files)
        n_val = int(round(len(files) * fractions[0]))
        n_test = int(round(len(files) * fractions[1]))
        if len(files) >= 3:  # every split that is asked for gets at least one file per class
            n_val = max(int(fractions[0] > 0), n_val)
            n_test = max(int(fractions[1] > 0), n_test)
        out["val"] += [(p, label) for p in files[:n_val]]
        out["test"] += [(p, label) for p in files[n_val : n_val + n_test]]
        out["train"] += [(p, label) for p in files[n_val + n_test :]]
    return out


def held_out(folder: Path, classes: list[str], seed: int, fractions: tuple[float, float], split: str = "test") -> list[tuple[Path, int]]:
    """(path, class index) of the pictures of a class-folder set that a training run held out as `split`.

    The same seeded, stratified split as training makes (`split_files`, classes in the run's
    order), recomputed from the model's metadata, so a model is scored on pictures it never
    saw: the real-face hold-out of a run that learnt from this folder beside others.
    """
    by_class = {i: list_files(folder / c) for i, c in enumerate(classes) if (folder / c).is_dir()}
    if not by_class:
        raise UserError(f"{folder}: no folder for any of the model's classes ({', '.join(classes)})")
    return split_files(by_class, fractions, seed)[split]


def is_class_folder_set(folder: Path) -> bool:
    """A folder of class folders alone: no vote table, no train/ (or FER+ split) subfolders of its own."""
    if (folder / LABEL_FILE).is_file() or "train" in class_folders(folder):
        return False
    return not any((folder / name / LABEL_FILE).is_file() for name in SPLIT_FOLDERS)


def model_held_out(folder: Path, meta: dict) -> list[tuple[Path, int]]:
    """held_out() for a model's metadata. For a folder the model never learnt from (all of it unseen), the part that a run with the
    default seed and fractions would hold out: the same pictures a model trained on it by default is scored on."""
    record = ModelMetadata.from_dict(meta)
    if not folder.is_dir():
        raise UserError(f"--held-out {folder}: no such folder")
    if not is_class_folder_set(folder):
        raise UserError(f"--held-out {folder}: not a folder of class folders; its own splits are its held-out pictures")
    if folder.resolve().name not in [d.name for d in record.data_dirs]:  # never seen: every picture is unseen; score the part a default run would hold out
        return held_out(folder, list(record.classes), 0, DEFAULT_FRACTIONS)
    return held_out(folder, list(record.classes), record.seed, record.fractions)
