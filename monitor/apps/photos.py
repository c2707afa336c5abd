"""Photo mode: a picture or a folder of pictures, each on its own, labelled and logged."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from monitor.apps.options import display_available, record_run
from monitor.core.errors import UserError
from monitor.core.types import Frame, FrameResult
from monitor.io.paths import check_output_file, ensure_folder, same_file
from monitor.io.pictures import WRITABLE_SUFFIXES, ImageError, list_pictures, read_bgr, write_picture
from monitor.moodlog.writer import MoodLog
from monitor.vision.pipeline import Pipeline

if TYPE_CHECKING:  # OpenCV and numpy load with the live loop; `report` starts without them
    import numpy as np


@dataclass
class PhotoStats:
    pictures: int = 0
    faces: int = 0
    no_face: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def describe(result: FrameResult, name: str) -> Iterator[str]:
    if not result.faces:
        yield f"{name}: no face found"
    for face in result.faces:
        b, p = face.box, face.raw
        probs = " ".join(f"{c}={v:.3f}" for c, v in zip(p.classes, p.probabilities))
        yield f"{name}: face {face.face_id} at x={b.x} y={b.y} w={b.w} h={b.h}: {p.label} {p.confidence:.0%} ({probs})"


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


class Pictures:
    """The pictures of a photo run as frames, each with its file's time; `path` and `name` are the picture being processed.

    A picture that cannot be decoded is skipped with its reason (one picture given alone is an error).
    """

    def __init__(self, source: Path, recursive: bool, stats: PhotoStats, bar=None) -> None:
        self.folder = source if source.is_dir() else None
        self.files = list_pictures(source, recursive) if self.folder else [source]
        self.stats, self.bar = stats, bar
        self.path, self.name = source, str(source)

    def __iter__(self) -> Iterator[Frame]:
        for path in self.files:
            if self.bar:
                self.bar.update(1)
            self.path, self.name = path, str(path.relative_to(self.folder)) if self.folder else str(path)
            try:
                image = read_bgr(path)
                mtime = path.stat().st_mtime
            except (ImageError, OSError) as err:
                self.stats.skipped.append((self.name, str(err)))
                if not self.folder:
                    raise UserError(f"{path}: {err}; give a picture OpenCV can decode") from None
                continue
            yield Frame(image, 0, 0.0, mtime)  # every picture is frame 0 of its own: nothing carries over


def run_photos(
    source: Path,
    pipeline: Pipeline,
    log: MoodLog,
    output: Path | None,
    show: bool,
    recursive: bool,
    quiet: bool,
    blur: bool = False,
    bars: bool = True,
    jsonl: bool = False,
) -> PhotoStats:
    """Label one picture or a folder of pictures; rows go to `log`, annotated copies to `output` (checked by `plan_output`).

    `blur` pixelates the faces in what is shown and written, `bars` draws probability bars, `jsonl`
    writes one JSON object per picture to standard output (the per-picture lines then go to stderr).
    """
    from monitor.apps.loop import Annotate, Blur, FrameLoop, JsonLines, LogRows

    stats = PhotoStats()
    pictures = Pictures(source, recursive, stats)
    folder = pictures.folder
    if folder and not quiet:
        from tqdm import tqdm

        bar = pictures.bar = tqdm(total=len(pictures.files), unit="picture", desc=folder.name, file=sys.stderr, mininterval=0.5)
    else:
        bar = None

    def tell(result: FrameResult) -> None:
        stats.pictures += 1
        stats.faces += len(result.faces)
        if not result.faces:
            stats.no_face.append(pictures.name)
        lines = "\n".join(describe(result, pictures.name))
        (bar.write if bar else print)(lines, file=sys.stderr if jsonl else sys.stdout)

    def write(result: FrameResult) -> None:
        target = output if not folder else output_path_for(pictures.path, folder, output)
        if same_file(target, pictures.path):
            raise UserError(f"{target}: would overwrite the original; pass another --output")
        write_picture(target, result.frame.image)

    def window(result: FrameResult) -> None:
        cv2.imshow(f"{pictures.path.name} (any key closes)", fit_to_screen(result.frame.image))
        cv2.waitKey(0)
        cv2.destroyAllWindows()

    steps = [LogRows(log, lambda _: pictures.name), tell]
    steps += [JsonLines(lambda _: pictures.name)] if jsonl else []
    steps += [Blur(keep=1)] if blur and (output or show) else []  # each picture alone: no boxes carried over
    steps += [Annotate(bars=bars)] if output or show else []
    steps += [write] if output else []
    steps += [window] if show and not folder else []
    FrameLoop(pipeline, steps, each_alone=True).run_all(pictures)
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
    from monitor.core.text import plural

    lines = [f"{plural(stats.pictures, 'picture')}, {plural(stats.faces, 'face')}, {len(stats.no_face)} without a face, {len(stats.skipped)} skipped"]
    lines += [f"  skipped {name}: {reason}" for name, reason in stats.skipped]
    return "\n".join(lines)


def run(args, source: Path, monitor, output: Path | None) -> int:
    """--source is a picture or a folder of pictures (--output already checked by `plan_output`)."""
    from monitor.moodlog.writer import MoodLog

    log_path = args.log or Path("logs") / f"mood-{datetime.now():%Y%m%d-%H%M%S}.csv"
    show = source.is_file() and not args.no_display and display_available()
    pipeline = monitor.picture_pipeline()  # pictures: the thorough search, speed matters less
    with MoodLog(log_path, monitor.classes) as log:
        record_run(log_path, monitor, str(source), args, "photos")
        stats = run_photos(source, pipeline, log, output, show, args.recursive, args.quiet, args.blur, not args.no_bars, args.jsonl)
    if not args.quiet:
        print(summary(stats) + f"\nlog: {log_path}" + (f"   annotated: {output}" if output else ""), file=sys.stderr)
    if stats.pictures == 0:
        print(f"error: {nothing_found(source, args.recursive)}; pass a folder of pictures or videos as --source", file=sys.stderr)
        return 2  # an input error, like the others
    return 0
