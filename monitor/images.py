"""Reading picture files into 8-bit grayscale, by decoding them, never by trusting extensions.

Training, evaluation and the photo mode all read pictures through `read_gray`, so a file that
one of them accepts the others accept too, and every odd format (16-bit, alpha, CMYK, EXIF
rotation) becomes the same kind of array.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

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
