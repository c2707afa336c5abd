"""Which picture goes to which split with which label, for every layout; read from the folders, nothing decoded yet."""

from __future__ import annotations

from pathlib import Path

from monitor.core.errors import UserError
from monitor.core.split import split_files
from train.data import votes as vote_labels
from train.data.layout import MIXED, SPLITS, VOTE_LAYOUTS, VOTE_MIX, VOTE_SPLITS, VOTES, folder_layout, list_files

NO_MAJORITY = "no majority (tie, unknown or not a face, or no votes)"


def listing(
    dirs: list[Path], layout: str, classes: list[str], only_split: str | None, fractions, seed: int, soft: bool, dropped: dict[str, int]
) -> dict[str, list]:
    """(path, class index[, target]) per split for any layout; vote-labelled pictures left out are counted in `dropped`.

    `soft` keeps each vote-labelled picture's vote shares as its target (--labels votes).
    """
    if layout in VOTE_LAYOUTS:
        return _vote_listing(dirs, layout, classes, only_split, fractions, seed, soft, dropped)
    if layout != VOTE_MIX:
        return _folder_listing(dirs, layout, classes, only_split, fractions, seed)
    # votes beside class folders: each part split by its own rules, then merged split by split
    layouts = {d: folder_layout(d)[0] for d in dirs}
    voted = [d for d in dirs if layouts[d] in VOTE_LAYOUTS]
    folders = [d for d in dirs if d not in voted]
    kinds = {layouts[d] for d in folders}
    listed = _vote_listing(voted, layouts[voted[0]], classes, only_split, fractions, seed, soft, dropped)
    kind = kinds.pop() if len(kinds) == 1 else MIXED
    for split, items in _folder_listing(folders, kind, classes, only_split, fractions, seed, keep_test=True).items():
        listed.setdefault(split, []).extend(items)
    return listed


def _split_listing(dirs: list[Path], classes: list[str], only_split: str | None, fractions, seed: int) -> dict:
    """(path, class) per split from folders with train/ [val/] [test/]; without val/, part of train/ is held out."""
    present = [s for s in SPLITS if any((d / s).is_dir() for d in dirs)]
    if only_split:
        present = [only_split] if only_split in present else []
    listed = {
        s: [(p, i) for i, c in enumerate(classes) for d in dirs if (d / s / c).is_dir() for p in list_files(d / s / c)] for s in present
    }
    if not only_split and "val" not in listed:  # no val/ folder: hold out part of train/, by file
        by_class: dict[int, list[Path]] = {}
        for p, i in listed["train"]:
            by_class.setdefault(i, []).append(p)
        carved = split_files(by_class, (fractions[0], 0.0), seed)
        listed["train"], listed["val"] = carved["train"], carved["val"]
    return listed


def _vote_listing(
    dirs: list[Path], layout: str, classes: list[str], only_split: str | None, fractions, seed: int, soft: bool, dropped: dict[str, int]
) -> dict[str, list[tuple[Path, int, tuple[float, ...] | None]]]:
    """(path, majority class, target) per split from label.csv folders; pictures without a kept majority are counted in `dropped`."""
    by_split: dict[str, list[Path]] = {}
    for d in dirs:
        for split, folder in ({"all": d} if layout == VOTES else vote_labels.vote_splits(d)).items():
            by_split.setdefault(split, []).append(folder)
    if only_split and layout == VOTE_SPLITS:
        by_split = {only_split: by_split.get(only_split, [])}
    listed: dict[str, list] = {}
    for split, folders in by_split.items():
        items = listed.setdefault(split, [])
        for folder in folders:
            table = vote_labels.read_votes(folder)
            if table.unlisted:
                key = f"in {folder.name}/ but not listed in its label.csv"
                dropped[key] = dropped.get(key, 0) + table.unlisted
            keep = [table.classes.index(c) if c in table.classes else None for c in classes]  # a class the table lacks: no votes there
            for row in table.rows:
                top = table.majority(row)
                if top is None:
                    dropped[NO_MAJORITY] = dropped.get(NO_MAJORITY, 0) + 1
                elif table.classes[top] not in classes:
                    dropped["majority not among the classes"] = dropped.get("majority not among the classes", 0) + 1
                else:
                    items.append((row.path, classes.index(table.classes[top]), vote_labels.target(row, keep) if soft else None))
    if layout == VOTES and not only_split:  # one folder: split by file, stratified by the majority class
        listed = _split_voted(listed.pop("all"), fractions, seed)
    elif layout == VOTE_SPLITS and not only_split and "val" not in listed:  # no val/: hold out part of train/
        carved = _split_voted(listed["train"], (fractions[0], 0.0), seed)
        listed["train"], listed["val"] = carved["train"], carved["val"]
    return listed


def _split_voted(items: list, fractions: tuple[float, float], seed: int) -> dict[str, list]:
    """split_files for (path, label, target) items: stratified by label, each target kept with its picture."""
    targets = {p: t for p, _, t in items}
    by_class: dict[int, list[Path]] = {}
    for p, label, _ in items:
        by_class.setdefault(label, []).append(p)
    return {split: [(p, label, targets[p]) for p, label in pairs] for split, pairs in split_files(by_class, fractions, seed).items()}


def once(listed: dict[str, list]) -> dict[str, list]:
    """Each picture once, whatever path reaches it (a link, a folder named twice); one picture in two splits is an error."""
    where: dict[Path, str] = {}
    out: dict[str, list] = {}
    for split, items in listed.items():
        out[split] = []
        for item in items:
            real = Path(item[0]).resolve()
            if real in where:
                if where[real] != split:
                    raise UserError(
                        f"{item[0]}: the same picture is in both the {where[real]} and the {split} split; "
                        "remove it from one so that no picture is scored on what it was trained on"
                    )
                continue
            where[real] = split
            out[split].append(item)
    return out


def _folder_listing(
    dirs: list[Path], layout: str, classes: list[str], only_split: str | None, fractions, seed: int, keep_test: bool = False
) -> dict[str, list[tuple[Path, int]]]:
    """(path, class) per split from class folders, split folders, or both (MIXED); `keep_test` gives class folders a test split
    even when no split folder has one (a vote mix: the test split is the class-folder set's own hold-out)."""
    if layout == MIXED and not only_split:  # class folders are split like the split folders beside them
        split_dirs = [d for d in dirs if folder_layout(d)[0] == "split folders"]
        listed = _split_listing(split_dirs, classes, None, fractions, seed)
        by_class = {
            i: [p for d in dirs if d not in split_dirs and (d / c).is_dir() for p in list_files(d / c)] for i, c in enumerate(classes)
        }
        extra = split_files(by_class, (fractions[0], fractions[1] if keep_test or "test" in listed else 0.0), seed)
        return {split: listed.get(split, []) + extra[split] for split in SPLITS if split in listed or extra[split]}
    if layout == "split folders":
        return _split_listing(dirs, classes, only_split, fractions, seed)
    by_class = {i: [p for d in dirs if (d / c).is_dir() for p in list_files(d / c)] for i, c in enumerate(classes)}
    for i, files in by_class.items():
        where = [str(d / classes[i]) for d in dirs if (d / classes[i]).is_dir()]
        if where and not files:
            raise UserError(f"{', '.join(where)}: empty class folder; add pictures or remove the folder")
    if only_split:
        return {"all": [(p, i) for i, fs in by_class.items() for p in fs]}
    return split_files(by_class, fractions, seed)
