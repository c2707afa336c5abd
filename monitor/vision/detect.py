"""Finding faces: the Haar cascade (video), the thorough picture search (photos), and the stillness test that keeps a box."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from monitor.core.types import Box


@dataclass(frozen=True)
class DetectorSettings:
    """Haar cascade settings, chosen to find both close-up and small faces quickly.

    The cascade's cost is set by the smallest face it must find: the frame is shrunk so that a
    face of `min_face` pixels (in the full frame) becomes the cascade's native 24-px window,
    and never scanned larger than `max_scan_side`; boxes are mapped back to full resolution.
    A face filling the frame is found at the coarsest scale. With the defaults a 640x480
    frame is scanned at 320x240 and a 1920x1080 frame at 960x540.
    """

    cascade: str = "haarcascade_frontalface_default.xml"
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face: int = 48
    max_scan_side: int = 1920


WINDOW = 24  # the frontal-face cascade's native window, in pixels


def load_cascade(name: str) -> cv2.CascadeClassifier:
    """One of the Haar cascades OpenCV ships (cv2.data.haarcascades)."""
    path = cv2.data.haarcascades + name
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"cannot load Haar cascade {path}: reinstall opencv-python<5")
    return cascade


class HaarDetector:
    """OpenCV's frontal-face Haar cascade with frame-size-aware settings.

    Not for two threads at once: a cascade keeps per-call state (each thread needs its own).
    """

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self._cascade = load_cascade(self.settings.cascade)

    def scan_scale(self, shape: tuple[int, ...]) -> float:
        """How much a frame of this shape is shrunk before the full scan."""
        s = self.settings
        return min(1.0, WINDOW / s.min_face, s.max_scan_side / max(shape[:2]))

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Face boxes in `gray` (2-D uint8), largest first, in full-resolution pixels."""
        s = self.settings
        h, w = gray.shape[:2]
        scale = self.scan_scale(gray.shape)
        small = gray
        if min(round(w * scale), round(h * scale)) < WINDOW:  # the smallest face asked for does not fit: none can be found
            return []
        if scale < 1.0:
            small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        found = self._cascade.detectMultiScale(small, scaleFactor=s.scale_factor, minNeighbors=s.min_neighbors, minSize=(WINDOW, WINDOW))
        boxes = [_unscale(hit, scale) for hit in (found if len(found) else [])]
        return sorted(boxes, key=largest_first)

    def detect_near(self, gray: np.ndarray, previous: list[Box]) -> list[Box]:
        """Re-find known faces by scanning only around their last boxes, at nearby sizes.

        A few milliseconds instead of a full scan. The region is scanned at the full scan's
        image scale with its scale factor, so a re-found box comes from the same ladder of
        window sizes as a full scan's and the crop does not change between the two. Faces that
        are not re-found are dropped (the pipeline then scans the whole frame at once).
        """
        s = self.settings
        h, w = gray.shape[:2]
        scale = self.scan_scale(gray.shape)
        found: list[Box] = []
        for b in previous:
            side = max(b.w, b.h)
            x0, y0 = max(0, b.x - side // 2), max(0, b.y - side // 2)
            x1, y1 = min(w, b.x + b.w + side // 2), min(h, b.y + b.h + side // 2)
            if x1 - x0 < WINDOW or y1 - y0 < WINDOW:
                continue
            region = gray[y0:y1, x0:x1]
            if scale < 1.0:
                region = cv2.resize(
                    region, (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))), interpolation=cv2.INTER_AREA
                )
            lo, hi = max(WINDOW, int(side * scale * 0.75)), int(side * scale * 1.35) + 1
            if min(region.shape[:2]) < lo:
                continue
            hits = self._cascade.detectMultiScale(
                region, scaleFactor=s.scale_factor, minNeighbors=s.min_neighbors, minSize=(lo, lo), maxSize=(hi, hi)
            )
            if len(hits):
                box = _unscale(max(hits, key=lambda r: r[2] * r[3]), scale, x0, y0)
                if all(box.iou(other) < 0.5 for other in found):
                    found.append(box)
        return sorted(found, key=largest_first)


class Stillness:
    """Whether the surroundings of known faces are unchanged since their boxes were found, so the boxes still hold.

    A face at rest in front of a camera (the common case) gives the same box frame after frame.
    Comparing a small thumbnail of each box's surroundings (the box and a quarter of its side
    around it, 24x24) with the one taken when the box was found costs a few hundredths of a
    millisecond; a re-find costs milliseconds. The comparison is always with the frame where
    the box was found, never the previous frame, so a slow drift is noticed once it adds up.
    The threshold (mean absolute difference, in gray levels) is well above a camera's noise on
    such a thumbnail and below what a move of a few pixels does (README, "Speed").
    """

    def __init__(self, threshold: float = 1.0, margin: float = 0.25, side: int = 24) -> None:
        self.threshold, self.margin, self.side = threshold, margin, side
        self._boxes: list[Box] = []
        self._thumbs: list[np.ndarray] = []

    def _thumb(self, gray: np.ndarray, b: Box) -> np.ndarray:
        k = int(max(b.w, b.h) * self.margin)
        h, w = gray.shape[:2]
        x0, y0, x1, y1 = max(0, b.x - k), max(0, b.y - k), min(w, b.x + b.w + k), min(h, b.y + b.h + k)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((self.side, self.side), np.float32)
        return cv2.resize(gray[y0:y1, x0:x1], (self.side, self.side), interpolation=cv2.INTER_AREA).astype(np.float32)

    def remember(self, gray: np.ndarray, boxes: list[Box]) -> None:
        """The frame where these boxes were found: what later frames are compared with."""
        self._boxes = list(boxes)
        self._thumbs = [self._thumb(gray, b) for b in boxes]

    def unchanged(self, gray: np.ndarray, boxes: list[Box]) -> bool:
        """True when these are the remembered boxes and every one's surroundings look as they did then."""
        if not boxes or boxes != self._boxes:
            return False
        return all(float(np.abs(self._thumb(gray, b) - t).mean()) < self.threshold for b, t in zip(boxes, self._thumbs))


class PictureSearch:
    """A thorough face search for still pictures, where a second or two per picture is fine.

    Video frames take the fast single scan. A photo is often cropped tight around the face,
    badly lit or tilted, and a single Haar pass misses many such faces. The search tries, in
    order, until one finds a face: the picture as it is (small pictures upscaled); padded by a
    quarter of its size with replicated edges (a face touching the border); plus histogram
    equalisation (low contrast); rotated by -15 and +15 degrees; the `alt2` cascade. Boxes are
    in the original picture's pixels and may reach past its edges (the crop rule pads there
    the same way). Every face but the largest must pass `SecondFaceCheck` (a portrait is one
    face, not one face and its chin). Not for two threads at once (its cascades are not).
    """

    STEPS = ("plain", "padded", "equalised", "rotated", "alt2")

    def __init__(self, min_face: int = WINDOW, pad: float = 0.25, angles: tuple[float, ...] = (-15.0, 15.0), upscale_below: int = 160):
        self.default = HaarDetector(DetectorSettings(min_face=min_face))
        self.alt2 = HaarDetector(DetectorSettings(cascade="haarcascade_frontalface_alt2.xml", min_face=min_face))
        self.pad, self.angles, self.upscale_below = pad, angles, upscale_below
        self.second_faces = SecondFaceCheck()
        self.last_step: str | None = None  # which step found the faces of the last picture (None: no face)

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Faces in a still picture (2-D uint8), largest first; [] only after every step failed."""
        factor = 1.0
        if min(gray.shape[:2]) < self.upscale_below:  # a small picture: its face is below the cascade's reach
            factor = self.upscale_below / min(gray.shape[:2])
            gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        p = int(round(self.pad * max(gray.shape[:2])))
        padded = cv2.copyMakeBorder(gray, p, p, p, p, cv2.BORDER_REPLICATE)
        equalised = cv2.equalizeHist(padded)
        attempts = [  # (step, search, the picture it scans, its offset from the original)
            ("plain", lambda: self.default.detect(gray), gray, 0),
            ("padded", lambda: self.default.detect(padded), padded, p),
            ("equalised", lambda: self.default.detect(equalised), equalised, p),
            *(("rotated", lambda a=a: _detect_rotated(self.default, equalised, a), equalised, p) for a in self.angles),
            ("alt2", lambda: self.alt2.detect(equalised), equalised, p),
        ]
        for step, attempt, scanned, offset in attempts:
            boxes = attempt()
            if boxes:
                boxes = self.second_faces.keep(scanned, boxes, found_by_alt2=step == "alt2")
                self.last_step = step
                return [_rescale(Box(b.x - offset, b.y - offset, b.w, b.h), 1.0 / factor) for b in boxes]
        self.last_step = None
        return []


class SecondFaceCheck:
    """Which boxes beside a picture's largest face are faces too, not a part of the same portrait that looks like one.

    The picture search finds faces a single scan misses, and with them the odd face-like patch
    of a portrait: a chin or cheek inside the face, hair, a neck, a shoulder (each would become
    a log row). The largest box is kept as found. Another is kept only when it lies mostly
    outside every kept face (at most `overlap` of its area inside one) and a second opinion
    agrees: the other frontal cascade finds a face at the same place and size, or the eye
    cascade finds an eye in its upper half. In the 1,919 one-person portraits of muxspace-photos
    no patch passes (19 pictures gave two faces before); in group photos the faces toward the
    camera pass, one looking down or hidden by hands beside them may not (README, "Photos").
    """

    def __init__(self, overlap: float = 0.3, min_neighbors: int = 3, side: int = 120) -> None:
        self.overlap, self.min_neighbors, self.side = overlap, min_neighbors, side
        self.default = load_cascade("haarcascade_frontalface_default.xml")
        self.alt2 = load_cascade("haarcascade_frontalface_alt2.xml")
        self.eyes = load_cascade("haarcascade_eye.xml")

    def keep(self, gray: np.ndarray, boxes: list[Box], found_by_alt2: bool = False) -> list[Box]:
        """`boxes` (largest first, in `gray`'s pixels) without the ones that fail the test."""
        kept = boxes[:1]
        other = self.default if found_by_alt2 else self.alt2
        for box in boxes[1:]:
            if all(_inside(box, k) <= self.overlap for k in kept) and self._confirmed(gray, box, other):
                kept.append(box)
        return kept

    def _confirmed(self, gray: np.ndarray, box: Box, other: cv2.CascadeClassifier) -> bool:
        """The other cascade, or the eye cascade, sees a face in this box (scanned at >= `side` pixels, so eyes are big enough)."""
        side = max(box.w, box.h)
        h, w = gray.shape[:2]
        x0, y0 = max(0, box.x - side // 2), max(0, box.y - side // 2)
        x1, y1 = min(w, box.x + box.w + side // 2), min(h, box.y + box.h + side // 2)
        factor = max(1.0, self.side / side)
        region = gray[y0:y1, x0:x1]
        if min(region.shape[:2]) < WINDOW:
            return False
        if factor > 1.0:
            region = cv2.resize(region, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        target = _rescale(Box(box.x - x0, box.y - y0, box.w, box.h), factor)
        s = max(target.w, target.h)
        hits = other.detectMultiScale(
            region, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(int(s * 0.6),) * 2, maxSize=(int(s * 1.6),) * 2
        )
        if any(Box(*(int(v) for v in hit)).iou(target) >= 0.3 for hit in (hits if len(hits) else [])):
            return True
        top = region[max(0, target.y) : max(0, target.y + target.h // 2), max(0, target.x) : max(0, target.x + target.w)]
        if min(top.shape[:2]) < s // 10 or min(top.shape[:2]) < 20:
            return False
        eyes = self.eyes.detectMultiScale(
            top, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(max(20, s // 10),) * 2, maxSize=(s // 2,) * 2
        )
        return len(eyes) > 0


def _inside(box: Box, other: Box) -> float:
    """The share of `box`'s area that lies inside `other`."""
    ix = max(0, min(box.x + box.w, other.x + other.w) - max(box.x, other.x))
    iy = max(0, min(box.y + box.h, other.y + other.h) - max(box.y, other.y))
    return ix * iy / box.area if box.area else 1.0


def _detect_rotated(detector: HaarDetector, gray: np.ndarray, angle: float) -> list[Box]:
    """Faces in `gray` turned by `angle` degrees, as upright boxes around the same centres in `gray`."""
    h, w = gray.shape[:2]
    centre = (w / 2.0, h / 2.0)
    turn = cv2.getRotationMatrix2D(centre, angle, 1.0)
    rotated = cv2.warpAffine(gray, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    back = cv2.invertAffineTransform(turn)
    out = []
    for b in detector.detect(rotated):
        cx, cy = back @ np.array([b.x + b.w / 2.0, b.y + b.h / 2.0, 1.0])
        out.append(Box(int(round(cx - b.w / 2.0)), int(round(cy - b.h / 2.0)), b.w, b.h))
    return out


def _rescale(box: Box, factor: float) -> Box:
    return Box(*(int(round(v * factor)) for v in (box.x, box.y, box.w, box.h))) if factor != 1.0 else box


def largest_first(box: Box) -> tuple[int, int, int]:
    """Sort key: largest face first, ties by position, so the order never depends on the cascade's threads."""
    return (-box.area, box.y, box.x)


def _unscale(hit, scale: float, x0: int = 0, y0: int = 0) -> Box:
    """A cascade hit (x, y, w, h) in a shrunk image or region, as a box in full-frame pixels."""
    x, y, w, h = (int(round(v / scale)) for v in hit)
    return Box(x0 + x, y0 + y, w, h)
