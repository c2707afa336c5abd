"""Pictures as input: label the faces in one photo or in every photo of a folder.

Same detector, crop rule, classifier, overlay and mood log as the video path; each picture is
analysed on its own (face ids restart at 1, no smoothing). Files that are not pictures are
listed as skipped and the run goes on; originals are never written to.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from monitor.errors import UserError
from monitor.images import ImageError, read_bgr
from monitor.moodlog import MoodLog, iso_timestamp, rows_for
from monitor.overlay import draw
from monitor.pipeline import FrameResult, Pipeline
from monitor.sources import Frame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jp2", ".pgm", ".ppm", ".pbm", ".pnm"}


def is_picture_file(path: Path) -> bool:
    """A file the photo mode should take: a picture suffix, or content OpenCV recognises as a picture."""
    return path.is_file() and (path.suffix.lower() in IMAGE_SUFFIXES or cv2.haveImageReader(str(path)))


def list_pictures(folder: Path, recursive: bool) -> list[Path]:
    """Every non-hidden file of the folder, in a stable order (non-pictures are reported as skipped)."""
    pattern = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in pattern if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


@dataclass
class PhotoStats:
    pictures: int = 0
    faces: int = 0
    no_face: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def analyse(pipeline: Pipeline, path: Path) -> tuple[FrameResult, np.ndarray]:
    """One picture through the pipeline, unrelated to the previous one (face ids restart at 1)."""
    image = read_bgr(path)
    pipeline.reset()
    mtime = path.stat().st_mtime
    return pipeline.analyze(Frame(image, 0, 0.0, mtime)), image


def describe(result: FrameResult, name: str) -> Iterator[str]:
    if not result.faces:
        yield f"{name}: no face found"
    for face in result.faces:
        b, p = face.box, face.raw
        probs = " ".join(f"{c}={v:.3f}" for c, v in zip(p.classes, p.probabilities))
        yield f"{name}: face {face.face_id} at x={b.x} y={b.y} w={b.w} h={b.h}: {p.label} {p.confidence:.0%} ({probs})"


WRITABLE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def output_path_for(path: Path, root: Path, out: Path) -> Path:
    """Where the annotated copy of `path` goes under the --output folder (mirroring subfolders).

    A name OpenCV cannot write (.gif, no suffix) gets `.png` appended.
    """
    target = out / path.relative_to(root)
    return target if target.suffix.lower() in WRITABLE_SUFFIXES else target.with_name(target.name + ".png")


def run_photos(source: Path, pipeline: Pipeline, log: MoodLog, output: Path | None, show: bool, recursive: bool, quiet: bool) -> PhotoStats:
    """Label one picture or a folder of pictures; rows go to `log`, annotated copies to `output`."""
    stats = PhotoStats()
    folder = source if source.is_dir() else None
    files = list_pictures(source, recursive) if folder else [source]
    if folder and output and output.resolve() == folder.resolve():
        raise UserError(f"{output}: is the picture folder itself; pass another --output so the originals are never overwritten")
    bar = None
    if folder and not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="picture", desc=folder.name, file=sys.stderr, mininterval=0.5)
    k = len(pipeline.classifier.classes)
    for path in files:
        if bar:
            bar.update(1)
        name = str(path.relative_to(folder)) if folder else str(path)
        try:
            result, image = analyse(pipeline, path)
        except (ImageError, OSError) as err:
            stats.skipped.append((name, str(err)))
            if not folder:
                raise UserError(f"{path}: {err}; give a picture OpenCV can decode") from None
            continue
        stats.pictures += 1
        stats.faces += len(result.faces)
        if not result.faces:
            stats.no_face.append(name)
        log.add(rows_for(result, name, k, timestamp=iso_timestamp(path.stat().st_mtime)))
        lines = list(describe(result, name))
        if bar:
            bar.write("\n".join(lines), file=sys.stdout)
        else:
            print("\n".join(lines))
        if output or show:
            draw(image, result)
        if output:
            target = output if not folder else output_path_for(path, folder, output)
            if target.resolve() == path.resolve():
                raise UserError(f"{target}: would overwrite the original; pass another --output")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(target), image):
                raise UserError(f"{target}: cannot write the annotated picture; use a .jpg/.png name in a writable folder")
        if show and not folder:
            cv2.imshow(f"{path.name} (any key closes)", image)
            cv2.waitKey(0)
            cv2.destroyAllWindows()
    if bar:
        bar.close()
    return stats


def summary(stats: PhotoStats) -> str:
    lines = [f"{stats.pictures} pictures, {stats.faces} faces, {len(stats.no_face)} without a face, {len(stats.skipped)} skipped"]
    lines += [f"  skipped {name}: {reason}" for name, reason in stats.skipped]
    return "\n".join(lines)
