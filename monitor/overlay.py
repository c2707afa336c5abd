"""Drawing a FrameResult: a box, label and confidence per face in its class's colour, and a status line.

Sizes follow the frame's size, so the text is readable from 320x240 up to 4K.
"""

from __future__ import annotations

import cv2
import numpy as np

from monitor.pipeline import FrameResult

# BGR colours; known emotions get fitting ones, other classes take the palette in order.
NAMED_COLOURS = {
    "happy": (0, 200, 255),
    "sad": (255, 120, 0),
    "neutral": (200, 200, 200),
    "angry": (0, 0, 230),
    "surprise": (255, 0, 255),
    "fear": (130, 0, 130),
    "disgust": (0, 140, 0),
}
PALETTE = [(0, 200, 0), (0, 140, 255), (255, 80, 80), (180, 0, 180), (0, 200, 200), (120, 120, 255), (255, 255, 0)]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def class_colour(label: str, classes: tuple[str, ...]) -> tuple[int, int, int]:
    if label.lower() in NAMED_COLOURS:
        return NAMED_COLOURS[label.lower()]
    return PALETTE[classes.index(label) % len(PALETTE)] if label in classes else PALETTE[0]


def scale_for(image: np.ndarray) -> tuple[float, int]:
    """Font scale and line thickness for a frame of this size."""
    short = min(image.shape[:2])
    scale = max(0.4, short / 600.0)
    return scale, max(1, int(round(scale * 2)))


def put_label(image: np.ndarray, text: str, x: int, y: int, colour, scale: float, thick: int) -> None:
    """Text on a filled background at (x, y) = its top-left corner, kept inside the image."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    h, w = image.shape[:2]
    x = min(max(0, x), max(0, w - tw - 4))
    y = min(max(0, y), max(0, h - th - base - 4))
    cv2.rectangle(image, (x, y), (x + tw + 4, y + th + base + 4), colour, cv2.FILLED)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(image, text, (x + 2, y + th + 2), FONT, scale, ink, thick, cv2.LINE_AA)


def draw(image: np.ndarray, result: FrameResult, fps: float | None = None) -> np.ndarray:
    """Annotate `image` in place (and return it) with the faces of `result`."""
    scale, thick = scale_for(image)
    for face in result.faces:
        b, p = face.box, face.smoothed
        colour = class_colour(p.label, p.classes)
        cv2.rectangle(image, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, thick + 1)
        text = f"{p.label} {p.confidence:.0%}  #{face.face_id}"
        (_, th), base = cv2.getTextSize(text, FONT, scale, thick)
        above = b.y - th - base - 6
        put_label(image, text, b.x, above if above >= 0 else b.y + b.h + 2, colour, scale, thick)
    status = f"{len(result.faces)} face{'s' if len(result.faces) != 1 else ''}"
    if fps:
        status = f"{fps:.1f} fps  |  {status}"
    put_label(image, status, 4, 4, (40, 40, 40), scale * 0.8, max(1, thick - 1))
    return image
