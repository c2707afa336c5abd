"""Scoring the monitor (and a peer) on folders of photos, one face each, through the photo mode."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from monitor.core.errors import UserError
from monitor.evaluation.truth import ROOT, Labeller, largest


def picture_labeller(pipeline) -> Labeller:
    """The monitor's photo mode as a labeller: the thorough search, the largest face's label."""
    from monitor.apps.loop import FrameLoop
    from monitor.core.types import Frame

    loop = FrameLoop(pipeline, each_alone=True)

    def label(image: np.ndarray) -> str | None:
        (result,) = loop.run([Frame(image, 0, 0.0, 0.0)])
        return largest((f.box, f.raw.label) for f in result.faces)

    return label


def photo_groups(folder: Path) -> list[tuple[str, list[Path]]]:
    """(class name, pictures) per subfolder of a photo folder (or the folder's own pictures under its name)."""
    from monitor.io.pictures import list_pictures

    if not folder.is_dir():
        raise UserError(f"{folder}: photo folder not found; pass --photos with a folder of pictures (one subfolder per class)")
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [(p.name, list_pictures(p, recursive=True)) for p in subfolders] or [(folder.name, list_pictures(folder, recursive=True))]


def held_out_groups(folder: Path, meta: dict) -> list[tuple[str, list[Path]]]:
    """(class name, pictures) of the part of a class-folder set that the model's training run held out (never trained on)."""
    from monitor.core.split import model_held_out

    pictures = model_held_out(folder, meta)
    return [(c, [p for p, i in pictures if i == k]) for k, c in enumerate(meta["classes"]) if any(i == k for _, i in pictures)]


def evaluate_photos(
    folder: Path,
    classes: tuple[str, ...],
    monitor: Labeller,
    peer: Labeller | None,
    limit: int | None,
    progress=print,
    groups: list[tuple[str, list[Path]]] | None = None,
) -> dict:
    """Face-finding recall, and accuracy for folders named like a model class, on folders of photos.

    `folder` holds one subfolder per class (or the pictures themselves); every picture should
    hold a face, so a picture without one found counts as a miss (and as wrong). `groups`
    gives the pictures per class instead (a model's held-out pictures of `folder`).
    """
    from monitor.io.pictures import ImageError, read_bgr

    groups = photo_groups(folder) if groups is None else groups
    result: dict = {"folder": str(folder), "limit": limit, "classes": {}}
    for name, pictures in groups:
        counts: Counter = Counter()
        for path in pictures[:limit]:
            try:
                image = read_bgr(path)
            except (ImageError, OSError):
                counts["skipped"] += 1
                continue
            counts["pictures"] += 1
            for who, labeller in (("monitor", monitor), ("fer", peer)):
                if labeller:
                    shown = labeller(image)
                    counts[f"{who}_found"] += shown is not None
                    counts[f"{who}_right"] += shown == name
        n = counts["pictures"]
        entry: dict = {"pictures": n, "skipped": counts["skipped"]}
        for who, labeller in (("monitor", monitor), ("fer", peer)):
            if labeller:
                found = counts[f"{who}_found"]
                entry[who] = {"found": found, "recall": found / n if n else None}
                if name in classes:
                    entry[who].update(right=counts[f"{who}_right"], accuracy=counts[f"{who}_right"] / n if n else None)
        result["classes"][name] = entry
        progress(f"{name}: face found in {counts['monitor_found']}/{n}" + (f" (fer {counts['fer_found']}/{n})" if peer else ""))
    return result


def own_held_out(meta: dict) -> list[Path]:
    """The class-folder sets among a model's training folders that are here (paths as recorded, from the project root)."""
    dirs = meta.get("data", {}).get("dir")
    found = []
    for d in dirs if isinstance(dirs, list) else []:  # a single-folder run holds out only within its own folder
        path = Path(d) if Path(d).is_absolute() else ROOT / d
        if path.is_dir() and not (path / "label.csv").exists() and not (path / "train").is_dir() and not any(path.glob("*/label.csv")):
            found.append(path)
    return found
