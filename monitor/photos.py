"""Pictures as input: label the faces in one photo or in every photo of a folder.

Same detector, crop rule, classifier, overlay and mood log as the video path; each picture is
analysed on its own (face ids restart at 1, no smoothing). Files that are not pictures are
listed as skipped and the run goes on; originals are never written to.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from monitor.errors import UserError
from monitor.images import ImageError, read_bgr
from monitor.moodlog import MoodLog, iso_timestamp, rows_for
from monitor.overlay import draw
from monitor.paths import check_output_file, ensure_folder, opencv_path, same_file
from monitor.pipeline import FrameResult, Pipeline
from monitor.sources import Frame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jp2", ".pgm", ".ppm", ".pbm", ".pnm"}


def is_picture_file(path: Path) -> bool:
    """A file the photo mode should take: a picture suffix, or content OpenCV recognises as a picture."""
    if not path.is_file():
        return False
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    with opencv_path(path) as name:
        return cv2.haveImageReader(name)


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


def plan_output(source: Path, output: Path | None) -> Path | None:
    """Check --output for a picture or a folder of pictures before any work; where annotated copies go.

    For one picture --output is a picture file name or an existing folder (the copy keeps the
    picture's name there); for a folder it is a folder, never the picture folder itself.
    """
    if output is None:
        return None
    if source.is_dir():
        if same_file(output, source):
            raise UserError(f"{output}: is the picture folder itself; pass another --output so the originals are never overwritten")
        if output.exists() and not output.is_dir():
            raise UserError(f"{output}: is a file; with a folder as --source, --output must be a folder")
        ensure_folder(output, "--output")
        if not os.access(output, os.W_OK):
            raise UserError(f"{output}: folder not writable; pass a writable --output")
        return output
    if output.is_dir():
        output = output_path_for(source, source.parent, output)
    elif output.suffix.lower() not in WRITABLE_SUFFIXES:
        raise UserError(f"{output}: not a picture file name; use a .jpg or .png name (or an existing folder) for --output")
    check_output_file(output, [source])
    return output


def write_picture(target: Path, image: np.ndarray) -> None:
    """Encode in memory and write with Python (any file name, clear errors)."""
    ok, data = cv2.imencode(target.suffix.lower(), image)
    if not ok:
        raise UserError(f"{target}: cannot encode a picture of this type; use a .jpg or .png name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.tobytes())
    except OSError as err:
        raise UserError(f"{target}: cannot write the annotated picture ({err.strerror}); pass a writable --output") from None


def run_photos(source: Path, pipeline: Pipeline, log: MoodLog, output: Path | None, show: bool, recursive: bool, quiet: bool) -> PhotoStats:
    """Label one picture or a folder of pictures; rows go to `log`, annotated copies to `output` (checked by `plan_output`)."""
    stats = PhotoStats()
    folder = source if source.is_dir() else None
    files = list_pictures(source, recursive) if folder else [source]
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
            if same_file(target, path):
                raise UserError(f"{target}: would overwrite the original; pass another --output")
            write_picture(target, image)
        if show and not folder:
            cv2.imshow(f"{path.name} (any key closes)", fit_to_screen(image))
            cv2.waitKey(0)
            cv2.destroyAllWindows()
    if bar:
        bar.close()
    return stats


def screen_size() -> tuple[int, int]:
    """(width, height) of the screen, or a common laptop's when it cannot be asked."""
    try:
        import tkinter

        root = tkinter.Tk()
        root.withdraw()
        size = root.winfo_screenwidth(), root.winfo_screenheight()
        root.destroy()
        return size
    except Exception:  # no tkinter, no display access: assume a small screen rather than overflow a real one
        return 1366, 768


def fit_to_screen(image: np.ndarray, screen: tuple[int, int] | None = None, margin: float = 0.9) -> np.ndarray:
    """The picture shrunk (never enlarged) to fit 90 % of the screen, so a 12-megapixel photo opens whole."""
    sw, sh = screen or screen_size()
    h, w = image.shape[:2]
    scale = min(1.0, margin * sw / w, margin * sh / h)
    return image if scale >= 1.0 else cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def nothing_found(folder: Path, recursive: bool) -> str:
    """What a folder without a usable picture holds, for the error message."""
    files = [p for p in (folder.rglob("*") if recursive else folder.iterdir()) if p.is_file()]
    if not files:
        return f"{folder}: empty folder" + ("" if recursive else " (subfolders are read with --recursive)")
    kinds = Counter(p.suffix.lower() or "(no suffix)" for p in files)
    return f"{folder}: no picture or video that can be decoded among {len(files)} files ({', '.join(f'{n} {k}' for k, n in kinds.most_common(5))})"


def summary(stats: PhotoStats) -> str:
    from monitor.words import plural

    lines = [f"{plural(stats.pictures, 'picture')}, {plural(stats.faces, 'face')}, {len(stats.no_face)} without a face, {len(stats.skipped)} skipped"]
    lines += [f"  skipped {name}: {reason}" for name, reason in stats.skipped]
    return "\n".join(lines)
