"""From folders of labelled pictures to verified samples, splits and a streaming tf.data pipeline.

Every file is checked by decoding it. Files that cannot be used are skipped and reported,
never deleted; the user's folder is only ever read.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.core.crop import CropRule
from monitor.core.errors import UserError
from monitor.core.types import Box
from monitor.io.pictures import ImageError, read_gray
from monitor.vision.detect import PictureSearch
from train import votes as vote_labels

SPLITS = ("train", "val", "test")
MIXED = "split folders + class folders"
VOTES = "vote labels"  # a folder with label.csv beside its pictures (split by this command)
VOTE_SPLITS = "vote labels in split folders"  # train/ val/ [test/] (or FER+'s FER2013Train/...) each with a label.csv
VOTE_LAYOUTS = (VOTES, VOTE_SPLITS)
NO_MAJORITY = "no majority (tie, unknown or not a face, or no votes)"
VOTE_MIX = "vote labels + class folders"  # e.g. FER+ beside a folder per class: a class-folder picture is one vote for its class
FACE_MODES = ("auto", "detect", "whole")
# In `auto` mode a picture is taken whole (a ready-made face crop, like FER-2013's 48x48)
# when it is roughly square and at most this many times the model's input size.
WHOLE_MAX_FACTOR = 3
WHOLE_MAX_ASPECT = 1.25


@dataclass(frozen=True)
class Sample:
    """One face to learn from: a file, its class index, and its box (None = the whole picture)."""

    path: str
    label: int
    box: Box | None = None
    target: tuple[float, ...] | None = None  # soft label (vote shares per class); None = one-hot of `label`
    source: str = ""  # the data folder it came from (per-source counts when several are mixed)


@dataclass
class Scan:
    """What a data folder holds once verified: classes, samples per split, and what was left out."""

    classes: list[str]
    splits: dict[str, list[Sample]]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    no_face: list[tuple[str, int, str]] = field(default_factory=list)  # (path, label, split)
    layout: str = "split folders"
    files: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # vote-labelled pictures left out, by reason
    roots: dict[Path, str] = field(default_factory=dict)  # resolved data folder -> its name (a sample's source)

    def counts(self) -> dict[str, dict[str, int]]:
        """Samples per class in each split, for printing and for the metadata."""
        out = {}
        for split, samples in self.splits.items():
            c = Counter(s.label for s in samples)
            out[split] = {name: c.get(i, 0) for i, name in enumerate(self.classes)}
        return out

    def of_source(self, *sources: str) -> Scan:
        """The same scan restricted to these data folders' samples (per-source metrics, an operating point fitted on some)."""
        return Scan(
            classes=self.classes,
            splits={split: [s for s in samples if s.source in sources] for split, samples in self.splits.items()},
            no_face=[n for n in self.no_face if _source_of(n[0], self.roots) in sources],
            layout=self.layout,
            roots=self.roots,
        )

    def source_counts(self) -> dict[str, dict[str, int]]:
        """Samples per split of each data folder, when several are taken together: {source: {split: n}}."""
        out: dict[str, dict[str, int]] = {}
        for split, samples in self.splits.items():
            for source, n in sorted(Counter(s.source for s in samples).items()):
                out.setdefault(source, {})[split] = n
        return out


def _source_of(path: str | Path, roots: dict[Path, str]) -> str:
    """The name of the data folder that holds `path` ('' if none does)."""
    resolved = Path(path).resolve()
    return next((name for root, name in roots.items() if resolved.is_relative_to(root)), "")


def class_folders(folder: Path) -> list[str]:
    """Sorted names of the non-hidden subfolders: the class names."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_files(folder: Path) -> list[Path]:
    """Every non-hidden file below a class folder, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


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


def model_held_out(folder: Path, meta: dict) -> list[tuple[Path, int]]:
    """held_out() for a model's metadata. For a folder the model never learnt from (all of it unseen), the part that a run with the
    default seed and fractions would hold out: the same pictures a model trained on it by default is scored on."""
    data = meta.get("data", {})
    dirs = data.get("dir")
    names = [Path(d).name for d in (dirs if isinstance(dirs, list) else [dirs] if dirs else [])]
    if not folder.is_dir():
        raise UserError(f"--held-out {folder}: no such folder")
    if folder_layout(folder)[0] != "class folders":
        raise UserError(f"--held-out {folder}: not a folder of class folders; its own splits are its held-out pictures")
    if folder.resolve().name not in names:  # never seen: every picture is unseen; score the part a default run would hold out
        return held_out(folder, list(meta["classes"]), 0, (0.15, 0.15))
    fractions = tuple(data.get("fractions", (0.15, 0.15)))
    return held_out(folder, list(meta["classes"]), int(meta.get("training", {}).get("seed", 0)), fractions)


def face_modes(text: str) -> dict[str, str]:
    """--faces as {source: mode}, '' for every other source: 'auto', or 'whole,affectnet=detect' (per data folder, by its name)."""
    modes = {"": "auto"}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        source, _, mode = part.rpartition("=")
        if mode not in FACE_MODES:
            raise UserError(f"--faces {text}: {mode!r} is not one of {', '.join(FACE_MODES)}; give MODE or SOURCE=MODE,... (e.g. affectnet=detect)")
        modes[source] = mode
    return modes


def _numbers_by_source(text: str, option: str, default: float, ok, what: str, example: str) -> dict[str, float]:
    """'V' or 'V,SOURCE=V,...' as {source: value}, '' for every other source; each value checked by `ok`."""
    by_source = {"": default}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        source, _, value = part.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not ok(number):
            raise UserError(f"{option} {text}: {value!r} is not {what}; give V or SOURCE=V,... (e.g. {example})")
        by_source[source] = number
    return by_source


def smoothing_by_source(text: str) -> dict[str, float]:
    """--label-smoothing as {source: epsilon}, '' for every other source: '0.1', or '0.1,affectnet=0.3' (per data folder)."""
    return _numbers_by_source(text, "--label-smoothing", 0.1, lambda e: 0.0 <= e < 1.0, "a number from 0 to below 1", "0.1,affectnet=0.3")


def weights_by_source(text: str) -> dict[str, float]:
    """--source-weights as {source: weight}, '' for every other source (1): 'affectnet=2'. A weight is a data folder's."""
    weights = _numbers_by_source(text, "--source-weights", 1.0, lambda w: 0.0 < w <= 10.0, "a weight above 0 and at most 10", "affectnet=2")
    if weights[""] != 1.0:
        raise UserError(f"--source-weights {text}: say which data folder each weight is for: SOURCE=W,... (e.g. affectnet=2)")
    return weights


def reweighted(samples: list[Sample], weights: dict[str, float], seed: int = 0) -> list[Sample]:
    """Each source's training samples repeated by its weight (1 if not named): 2 shows every face twice an epoch, 0.5 a seeded half.

    Repetition rather than a loss weight, so it composes with class weights and soft targets
    (Keras takes one or the other), and a rare source's faces get as many augmented views as
    its weight says. The same seed picks the same fraction, so a resumed run sees the same faces.
    """
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for source in dict.fromkeys(s.source for s in samples):
        mine = [s for s in samples if s.source == source]
        w = weights.get(source, 1.0)
        whole, part = int(w), w - int(w)
        out += mine * whole
        if part:
            out += [mine[i] for i in sorted(rng.choice(len(mine), round(part * len(mine)), replace=False))]
    return out


def faces_in(gray: np.ndarray, mode: str, rule: CropRule, detector: Callable[[np.ndarray], list[Box]] | None) -> list[Box | None]:
    """The faces a picture contributes: [None] for the whole picture, boxes found, or []."""
    h, w = gray.shape
    if mode == "whole":
        return [None]
    if mode == "auto" and max(h, w) <= WHOLE_MAX_FACTOR * rule.size and max(h, w) / min(h, w) <= WHOLE_MAX_ASPECT:
        return [None]
    return list(detector(gray)) if detector else []


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


def _once(listed: dict[str, list]) -> dict[str, list]:
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
    if layout in VOTE_LAYOUTS:
        listed = _vote_listing(dirs, layout, classes, only_split, fractions, seed, labels == "votes", dropped)
    elif layout == VOTE_MIX:  # votes beside class folders: each part split by its own rules, then merged split by split
        layouts = {d: folder_layout(d)[0] for d in dirs}
        voted = [d for d in dirs if layouts[d] in VOTE_LAYOUTS]
        folders = [d for d in dirs if d not in voted]
        kinds = {layouts[d] for d in folders}
        listed = _vote_listing(voted, layouts[voted[0]], classes, only_split, fractions, seed, labels == "votes", dropped)
        kind = kinds.pop() if len(kinds) == 1 else MIXED
        for split, items in _folder_listing(folders, kind, classes, only_split, fractions, seed, keep_test=True).items():
            listed.setdefault(split, []).extend(items)
    else:
        listed = _folder_listing(dirs, layout, classes, only_split, fractions, seed)
    if keep is not None:
        listed = {split: [item for item in items if Path(item[0]) in keep] for split, items in listed.items()}
    listed = _once(listed)
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
            source = _source_of(path, result.roots)
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


def load_crop(sample: Sample, rule: CropRule) -> np.ndarray:
    """The model's input for one sample: decode, then the shared crop rule."""
    gray = read_gray(sample.path)
    return rule.whole(gray) if sample.box is None else rule.crop(gray, sample.box)


def tf_dataset(
    samples: list[Sample],
    num_classes: int,
    rule: CropRule,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    epochs: range | None = None,
    smoothing: dict[str, float] | None = None,
):
    """A tf.data pipeline that streams crops from disk (memory bounded by batch, not data size).

    With `epochs` (training), it is one stream of those epochs' batches, each epoch shuffled by
    its own seed: a run resumed at epoch k sees the same order as one that never stopped.
    `smoothing` ({source: epsilon}, '' for the rest) softens each target towards uniform by its
    source's epsilon: a single annotator's label (a class folder) can be trusted less than ten votes.
    """
    import tensorflow as tf

    paths = np.array([s.path for s in samples])
    boxes = np.array([(-1, -1, -1, -1) if s.box is None else (s.box.x, s.box.y, s.box.w, s.box.h) for s in samples], dtype=np.int32)
    soft = any(s.target is not None for s in samples)
    labels = (
        np.array([s.target if s.target is not None else np.eye(num_classes)[s.label] for s in samples], dtype=np.float32)
        if soft
        else np.array([s.label for s in samples], dtype=np.int32)
    )
    if smoothing is not None:
        eps = np.array([smoothing.get(s.source, smoothing[""]) for s in samples], dtype=np.float32)[:, None]
        labels = (1.0 - eps) * (labels if soft else np.eye(num_classes, dtype=np.float32)[labels]) + eps / num_classes
        soft = True

    def load(path: bytes, box: np.ndarray) -> np.ndarray:
        b = None if box[0] < 0 else Box(*(int(v) for v in box))
        return load_crop(Sample(path.decode(), 0, b), rule)

    def to_example(path, box, label):
        crop = tf.numpy_function(load, [path, box], tf.uint8, stateful=False)
        crop = tf.reshape(tf.cast(crop, tf.float32), (rule.size, rule.size, 1))
        return crop, (label if soft else tf.one_hot(label, num_classes))

    ds = tf.data.Dataset.from_tensor_slices((paths, boxes, labels))
    if epochs is not None:
        columns = (tf.constant(paths), tf.constant(boxes), tf.constant(labels))

        def epoch(e):  # a stateless permutation per (seed, epoch): the same wherever a run starts or resumes
            order = tf.random.experimental.stateless_shuffle(tf.range(len(samples)), seed=tf.stack([tf.constant(seed, tf.int64), e]))
            picked = tf.data.Dataset.from_tensor_slices(order).map(lambda i: tuple(tf.gather(c, i) for c in columns))
            return picked.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)

        return tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(epoch).prefetch(tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(len(samples), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def mixup(batches, alpha: float, seed: int = 0):
    """Blend every training picture with another of its batch, labels alike (mixup, Zhang et al. 2018).

    Soft targets between faces discourage over-confident boundaries on noisy labels such as
    FER's. The blend weight is drawn from Beta(alpha, alpha) and folded to >= 0.5, so each
    mixed picture keeps its own class as the larger part (Keras' class weights follow it).
    """
    import tensorflow as tf

    def blend(x, y):
        n = tf.shape(x)[0]
        a, b = tf.random.gamma([n], alpha, seed=seed), tf.random.gamma([n], alpha, seed=seed + 1)
        lam = tf.where(a + b > 0, tf.maximum(a, b) / (a + b), 1.0)  # Beta(alpha, alpha) folded to [0.5, 1]
        other = tf.random.shuffle(tf.range(n), seed=seed + 2)
        lx, ly = tf.reshape(lam, (-1, 1, 1, 1)), lam[:, None]
        return lx * x + (1 - lx) * tf.gather(x, other), ly * y + (1 - ly) * tf.gather(y, other)

    return batches.map(blend, num_parallel_calls=tf.data.AUTOTUNE)
