"""Pictures labelled by votes: a `label.csv` of per-class counts (or probabilities) beside the pictures.

One person's label is noisy (over half of FER-2013's "sad" faces are neutral by FER+'s ten
votes each), so a folder may carry the votes themselves. Two forms are read:

- FER+'s own (microsoft/FERPlus): no header; file name, face box "(x, y, w, h)", then ten
  counts: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
  The classes are named as FER-2013's folders are (happy, sad, angry, ...), so FER and FER+
  models name their classes alike; `unknown` and `NF` (not a face) are votes for no class.
- The general form: a header row `file,<class>,<class>,...`, then one row per picture with a
  count or probability per class (a user's own soft labels). Columns named `unknown` or `NF`
  are read as votes for no class, as in FER+.

A picture's majority label is its most-voted class; ties, and pictures whose most-voted column
is unknown or not-a-face, are left out (as in the FER+ paper). Training with `--labels votes`
fits the vote distribution over the kept classes; evaluation always scores the majority label.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from monitor.core.errors import UserError

LABEL_FILE = "label.csv"
LABEL_MODES = ("votes", "majority")
# FER+ column order, named like the fer2013-* class folders.
FERPLUS_CLASSES = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
NO_CLASS = ("unknown", "nf")  # vote columns that name no class (compared in lower case)
# FER+'s split folders and the splits they are.
SPLIT_FOLDERS = {"train": "train", "val": "val", "test": "test", "FER2013Train": "train", "FER2013Valid": "val", "FER2013Test": "test"}


@dataclass(frozen=True)
class Voted:
    """One picture of a vote table: its file and its votes, one per class then the no-class columns."""

    path: Path
    votes: tuple[float, ...]
    line: int


@dataclass(frozen=True)
class VoteTable:
    """A parsed label.csv: the class names (in column order) and every picture's votes."""

    source: Path
    classes: tuple[str, ...]
    rows: tuple[Voted, ...]
    unlisted: int = 0  # pictures in the folder that no row names (left out, and counted so the user hears of them)

    def majority(self, row: Voted) -> int | None:
        """Index of the most-voted class, or None for a tie or a most-voted unknown / not-a-face column."""
        top = max(row.votes)
        winners = [i for i, v in enumerate(row.votes) if v == top]
        if top <= 0 or len(winners) > 1 or winners[0] >= len(self.classes):
            return None
        return winners[0]


def is_vote_folder(folder: Path) -> bool:
    return (folder / LABEL_FILE).is_file()


def vote_splits(folder: Path) -> dict[str, Path]:
    """{split: folder} for the subfolders of `folder` that hold a label.csv under a split's name (train/val/test or FER+'s)."""
    if not folder.is_dir():
        return {}
    found = {}
    for sub in sorted(folder.iterdir()):
        split = SPLIT_FOLDERS.get(sub.name)
        if split and is_vote_folder(sub):
            if split in found:
                raise UserError(f"{folder}: both {found[split].name}/ and {sub.name}/ are the {split} split; keep one")
            found[split] = sub
    return found


def _shown(text: str) -> str:
    """A cell as a message shows it: whole when short, else its start and its length."""
    text = text.strip()
    return repr(text) if len(text) <= 24 else f"{text[:16]!r}... ({len(text)} characters)"


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{where}: {_shown(text)} is not a number; each vote column holds a count or a probability") from None
    if math.isnan(value):
        raise UserError(f"{where}: vote {_shown(text)} is not a number; votes are counts or probabilities >= 0")
    if math.isinf(value):
        raise UserError(f"{where}: vote {_shown(text)} is too large; votes are counts or probabilities >= 0")
    if value < 0:
        raise UserError(f"{where}: vote {_shown(text)} is negative; votes are counts or probabilities >= 0")
    return value


def read_votes(folder: Path) -> VoteTable:
    """Parse folder/label.csv (FER+ form or the general form with a header); one-line errors name the file and line."""
    source = folder / LABEL_FILE
    try:
        with open(source, newline="", encoding="utf-8-sig") as f:  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
            lines = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"{source}: cannot read it ({err}); it must be a UTF-8 CSV file") from None
    lines = [(n, row) for n, row in enumerate(lines, 1) if any(cell.strip() for cell in row)]
    if not lines:
        raise UserError(f"{source}: empty; give one row per picture (see the README's 'Vote labels')")
    first = lines[0][1]
    ferplus = len(first) >= 2 and first[1].strip().startswith("(")
    if ferplus:
        names = [*FERPLUS_CLASSES, *NO_CLASS]
        first_vote, body = 2, lines
    else:
        names = [c.strip() for c in first[1:]]
        if len(names) < 2 or any(not c for c in names) or len(set(names)) < len(names):
            raise UserError(
                f"{source} line {lines[0][0]}: the header must be file,<class>,<class>,... with distinct class names "
                "(or FER+'s form: file, face box, ten vote counts)"
            )
        folded = {}
        for name in names:  # class names are compared as written (as class folders are); two that differ only in case are a mistake
            if name.lower() in folded:
                raise UserError(
                    f"{source} line {lines[0][0]}: classes {folded[name.lower()]!r} and {name!r} differ only in case; "
                    "class names are case-sensitive, so name each class once"
                )
            folded[name.lower()] = name
        first_vote, body = 1, lines[1:]
    classes = [c for c in names if c.lower() not in NO_CLASS]
    extra = [c for c in names if c.lower() in NO_CLASS]
    order = [names.index(c) for c in classes + extra]  # classes first, then the no-class columns
    width = first_vote + len(names)
    rows = []
    seen: dict[Path, int] = {}
    inside = folder.resolve()
    for n, row in body:
        where = f"{source} line {n}"
        if len(row) != width:
            raise UserError(f"{where}: {len(row)} columns where {width} are expected (file{', box' if ferplus else ''}, {len(names)} votes)")
        path = folder / row[0].strip()
        if not path.is_file():
            raise UserError(f"{where}: picture {row[0].strip()!r} is not in {folder}; remove the row or add the picture")
        values = [_number(v, where) for v in row[first_vote:]]
        real = path.resolve()
        if not real.is_relative_to(inside):  # ../FER2013Train/x.png: a picture of another folder (another split) would leak
            raise UserError(f"{where}: picture {row[0].strip()!r} lies outside {folder}; list only the pictures of this folder")
        if real in seen:
            raise UserError(f"{where}: picture {row[0].strip()!r} is listed again (first on line {seen[real]}); keep one row per picture")
        seen[real] = n
        rows.append(Voted(path, tuple(values[i] for i in order), n))
    if not rows:
        raise UserError(f"{source}: no picture rows below the header")
    present = {p.resolve() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != LABEL_FILE}
    return VoteTable(source, tuple(classes), tuple(rows), unlisted=len(present - set(seen)))


def target(row: Voted, keep: list[int | None]) -> tuple[float, ...]:
    """The vote distribution over the kept classes (what `--labels votes` trains against); None: a class this table lacks (no votes)."""
    kept = [0.0 if i is None else row.votes[i] for i in keep]
    total = sum(kept)
    return tuple(v / total for v in kept)
