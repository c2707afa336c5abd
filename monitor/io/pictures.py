"""Pictures on disk: which files are pictures, and decoding them whatever their format, orientation or name."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from monitor.core.errors import UserError
from monitor.io.paths import opencv_path

# Smaller than this on either side cannot hold a face worth classifying.
MIN_SIDE = 24


class ImageError(ValueError):
    """A file that cannot be used as a picture; the message says why, in a few words."""


def decode(path: str | Path) -> np.ndarray:
    """Decode a picture file, upright (EXIF applied), as 8-bit gray or BGR.

    Raises ImageError("empty file" / "not a decodable image" / "too small ...") for files a
    training run should skip and report and the photo mode lists as skipped.
    """
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ImageError("empty file")
    # ANYDEPTH keeps 16-bit samples (scaled below); without IMREAD_UNCHANGED OpenCV applies
    # the EXIF orientation, so phone photos come out upright.
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise ImageError("not a decodable image")
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if min(image.shape[:2]) < MIN_SIDE:
        h, w = image.shape[:2]
        raise ImageError(f"too small to hold a face ({w}x{h} px, need {MIN_SIDE}+)")
    return np.ascontiguousarray(image)


def read_gray(path: str | Path) -> np.ndarray:
    """A picture file as 2-D uint8 grayscale: what the detector and the crop rule take."""
    image = decode(path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def read_bgr(path: str | Path) -> np.ndarray:
    """A picture file as 8-bit BGR: what the overlay draws on."""
    image = decode(path)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


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


WRITABLE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


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
