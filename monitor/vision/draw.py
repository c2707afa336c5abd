"""Drawing a frame's faces: box, label and confidence placed so labels never overlap, probability bars, blurring."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from monitor.core.colours import class_colour
from monitor.core.types import Box, FrameResult
from monitor.vision.text import as_drawn, put_text, text_size

FONT = cv2.FONT_HERSHEY_SIMPLEX


def scale_for(image: np.ndarray) -> tuple[float, int]:
    """Font scale and line thickness for a frame of this size."""
    short = min(image.shape[:2])
    scale = max(0.4, short / 600.0)
    return scale, max(1, int(round(scale * 2)))


def put_label(image: np.ndarray, text: str, x: int, y: int, colour, scale: float, thick: int) -> tuple[int, int, int, int]:
    """Text on a filled background at (x, y) = its top-left corner, kept inside the image; returns its rectangle.

    ASCII is drawn with OpenCV as always; other letters with a font that has them (see monitor.vision.text).
    """
    x0, y0, x1, y1 = label_rect(image, text, x, y, scale, thick)
    cv2.rectangle(image, (x0, y0), (x1, y1), colour, cv2.FILLED)
    (_, th), _ = text_size(text, scale, thick)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    put_text(image, text, (x0 + 2, y0 + th + 2), scale, ink, thick)
    return x0, y0, x1, y1


def label_rect(image: np.ndarray, text: str, x: int, y: int, scale: float, thick: int) -> tuple[int, int, int, int]:
    """Where `put_label` would draw: (x0, y0, x1, y1), moved inside the image."""
    (tw, th), base = text_size(text, scale, thick)
    h, w = image.shape[:2]
    x = min(max(0, x), max(0, w - tw - 4))
    y = min(max(0, y), max(0, h - th - base - 4))
    return x, y, x + tw + 4, y + th + base + 4


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_label(image, text, box: Box, scale: float, thick: int, taken: list) -> tuple[int, int]:
    """A spot for a face's label that covers no other label: above the box, below it, or stacked further out."""
    (_, th), base = text_size(text, scale, thick)
    step = th + base + 6
    above, below = box.y - step, box.y + box.h + 2
    candidates = [above, below] + [y for k in range(1, 6) for y in (above - k * step, below + k * step)]
    for y in candidates:
        rect = label_rect(image, text, box.x, y, scale, thick)
        if not any(_overlaps(rect, other) for other in taken):
            return box.x, y
    return box.x, above if above >= 0 else below


def face_scale(image: np.ndarray, box: Box) -> tuple[float, int]:
    """Text size for one face: the frame's size, but no wider than about the face for small faces in a crowd."""
    scale, thick = scale_for(image)
    small = max(0.35, box.w / 150.0)
    if small < scale:
        return small, max(1, int(round(small * 2)))
    return scale, thick


def blur_faces(image: np.ndarray, boxes, cells: int = 8, margin: float = 0.15) -> np.ndarray:
    """Pixelate each box (and a margin around it) in place to `cells` x `cells` blocks: no face detail is left.

    Eight blocks across a face keep its position and skin tone but no eyes, mouth or outline a
    face detector or recogniser could use (the tests check the Haar detector no longer finds it).
    """
    h, w = image.shape[:2]
    for b in boxes:
        mx, my = int(b.w * margin), int(b.h * margin)
        x0, y0, x1, y1 = max(0, b.x - mx), max(0, b.y - my), min(w, b.x + b.w + mx), min(h, b.y + b.h + my)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = image[y0:y1, x0:x1]
        small = cv2.resize(region, (cells, cells), interpolation=cv2.INTER_AREA)
        image[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    return image


def bar_panel(image: np.ndarray, box: Box, classes: int) -> tuple[int, int, int, int]:
    """Where a face's probability bars go: (x, y, width, row height), right of the box, or left, narrowed to the room there is."""
    h, w = image.shape[:2]
    row = int(np.clip(box.h // (classes + 1), 9, 16))
    right, left = w - (box.x + box.w + 4), box.x - 4
    width = int(np.clip(box.w * 0.7, 48, 120))
    if right < width:
        width = max(min(width, max(right, left)), 36)
    x = box.x + box.w + 4 if right >= width or right >= left else max(0, box.x - 4 - width)
    y = int(np.clip(box.y, 0, max(0, h - row * classes)))
    return x, y, width, row


@functools.lru_cache(maxsize=64)
def _bar_template(classes: tuple[str, ...], width: int, row: int) -> tuple[np.ndarray, int, int]:
    """A face's bar panel without its bars: dark rows with the class names, drawn once per size (text is the costly part)."""
    panel = np.full((row * len(classes), width, 3), 40, np.uint8)
    scale = row / 30.0
    (tw, _), _ = cv2.getTextSize("mmm", FONT, scale, 1)
    for i, name in enumerate(classes):
        tag = name[:3] if name.isascii() or as_drawn(name[:3]) == name[:3] else str(i)  # no font has its letters: the class's index
        put_text(panel, tag, (1, i * row + row - 3), scale, (255, 255, 255), 1)
    bar_x = tw + 3
    return panel, bar_x, max(8, width - bar_x)


def draw_bars(image: np.ndarray, box: Box, shown) -> None:
    """One bar per class beside the box, as long as its probability, in the class colour; the shown label's bar outlined."""
    k = len(shown.classes)
    x, y, width, row = bar_panel(image, box, k)
    panel, bar_x, bar_w = _bar_template(tuple(shown.classes), width, row)
    h, w = image.shape[:2]
    ph, pw = min(panel.shape[0], h - y), min(panel.shape[1], w - x)
    if ph <= 0 or pw <= 0:
        return
    view = image[y : y + ph, x : x + pw]
    view[:] = panel[:ph, :pw]
    for i, (name, p) in enumerate(zip(shown.classes, shown.probabilities)):
        top = i * row
        view[top + 2 : top + row - 2, bar_x : bar_x + int(round(p * bar_w))] = class_colour(name, shown.classes)
        if i == shown.index:
            cv2.rectangle(view, (0, top), (pw - 1, top + row - 1), (255, 255, 255), 1)


def draw(image: np.ndarray, result: FrameResult, fps: float | None = None, bars: bool = False) -> np.ndarray:
    """Annotate `image` in place (and return it) with the faces of `result`; labels never cover each other.

    `bars`: a bar per class beside each box (the probabilities behind the shown label).
    """
    scale, thick = scale_for(image)
    status = f"{len(result.faces)} face{'s' if len(result.faces) != 1 else ''}"
    if fps:
        status = f"{fps:.1f} fps  |  {status}"
    status_size = (scale * 0.8, max(1, thick - 1))
    taken = [label_rect(image, status, 4, 4, *status_size)]  # face labels keep clear of the status line too
    for face in result.faces:
        b, p = face.box, face.smoothed
        colour = class_colour(p.label, p.classes)
        cv2.rectangle(image, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, thick + 1)
    for face in sorted(result.faces, key=lambda f: (f.box.y, f.box.x)):
        b, p = face.box, face.smoothed
        text = f"{p.label} {p.confidence:.0%}  #{face.face_id}"
        fs, ft = face_scale(image, b)
        x, y = place_label(image, text, b, fs, ft, taken)
        taken.append(put_label(image, text, x, y, class_colour(p.label, p.classes), fs, ft))
    if bars:
        for face in result.faces:
            draw_bars(image, face.box, face.smoothed)
    put_label(image, status, 4, 4, (40, 40, 40), *status_size)
    return image
