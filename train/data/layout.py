"""What a data folder holds: class folders, split folders, vote labels, or several folders of these taken together."""

from __future__ import annotations

from pathlib import Path

from monitor.core.errors import UserError
from monitor.core.split import SPLITS, class_folders, list_files  # noqa: F401 (the layout's own vocabulary)
from train.data import votes as vote_labels

MIXED = "split folders + class folders"
VOTES = "vote labels"  # a folder with label.csv beside its pictures (split by this command)
VOTE_SPLITS = "vote labels in split folders"  # train/ val/ [test/] (or FER+'s FER2013Train/...) each with a label.csv
VOTE_LAYOUTS = (VOTES, VOTE_SPLITS)
VOTE_MIX = "vote labels + class folders"  # e.g. FER+ beside a folder per class: a class-folder picture is one vote for its class


def folder_layout(data_dir: Path) -> tuple[str, list[str]]:
    """('split folders', classes) for a train/[val/][test/] folder, else ('class folders', classes)."""
    if not data_dir.is_dir():
        raise UserError(f"{data_dir}: no such folder; give a folder with one subfolder per class")
    if vote_labels.is_vote_folder(data_dir):
        return VOTES, sorted(vote_labels.read_votes(data_dir).classes)
    if splits := vote_labels.vote_splits(data_dir):
        tables = {split: vote_labels.read_votes(folder) for split, folder in splits.items()}
        if "train" not in tables:
            raise UserError(f"{data_dir}: vote-labelled folders for {', '.join(tables)} but none for train (train/ or FER2013Train/)")
        classes = sorted(tables["train"].classes)
        for table in tables.values():
            if sorted(table.classes) != classes:
                raise UserError(f"{table.source}: its classes differ from {tables['train'].source}'s ({', '.join(classes)})")
        return VOTE_SPLITS, classes
    subdirs = class_folders(data_dir)
    if "train" not in subdirs:
        return "class folders", subdirs
    classes = class_folders(data_dir / "train")
    for split in SPLITS[1:]:
        if split in subdirs and class_folders(data_dir / split) != classes:
            raise UserError(f"{data_dir / split}: its class folders differ from {data_dir / 'train'}'s ({', '.join(classes)})")
    return "split folders", classes


def as_dirs(data_dirs: str | Path | list) -> list[Path]:
    """One data folder or several, as a list of paths."""
    return [Path(d) for d in data_dirs] if isinstance(data_dirs, list | tuple) else [Path(data_dirs)]


def data_name(data_dirs: str | Path | list) -> str:
    """A short name for one data folder or several ('fer2013-happy-sad+fer2013-other'): run folders, plot titles."""
    return "+".join(d.resolve().name for d in as_dirs(data_dirs))


def detect_layout(data_dirs: str | Path | list, only: list[str] | None = None) -> tuple[str, list[str]]:
    """The layout and sorted class names of one data folder or several taken together.

    A class found in more than one folder gathers all their pictures (say FER's happy/sad
    folders and its other five classes). Folders of class folders can join folders with
    train/ val/ splits (say your own photos added to FER): they are split into the same splits
    (MIXED). `only` keeps just those classes, so a user can leave one out without moving files.
    """
    dirs = as_dirs(data_dirs)
    seen: dict[Path, Path] = {}
    for d in dirs:
        if d.resolve() in seen:
            raise UserError(f"{d}: given twice (also as {seen[d.resolve()]}); name each data folder once")
        seen[d.resolve()] = d
    layouts = {d: folder_layout(d) for d in dirs}
    kinds = {layout for layout, _ in layouts.values()}
    if len(kinds & set(VOTE_LAYOUTS)) > 1:
        raise UserError(
            f"{', '.join(map(str, dirs))}: a label.csv folder beside split folders of label.csv files; give every vote-labelled set in one form"
        )
    layout = VOTE_MIX if len(kinds) > 1 and kinds & set(VOTE_LAYOUTS) else kinds.pop() if len(kinds) == 1 else MIXED
    classes = sorted({c for _, names in layouts.values() for c in names})
    voted = layout in VOTE_LAYOUTS
    if only:
        unknown = [c for c in only if c not in classes]
        if unknown:
            what = "class in label.csv's header" if voted else "folder"
            raise UserError(
                f"--classes: no {what} for {', '.join(unknown)} in {', '.join(map(str, dirs))} (found {', '.join(classes)}; "
                "class names are case-sensitive)"
            )
        classes = sorted(set(only))
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        if voted:
            raise UserError(
                f"{', '.join(map(str, dirs))}: label.csv names {found} as classes; give at least 2 class columns "
                "(unknown and NF are votes for no class)"
            )
        where = ", ".join(str(d / "train" if layout == "split folders" else d) for d in dirs)
        raise UserError(f"{where}: need at least 2 class folders (found {found}); put each class's pictures in its own subfolder")
    return layout, classes
