"""The data that flows through the monitor, defined once: a frame, a face box, a prediction, a face, a frame's result.

Frozen dataclasses of plain values: every mode (live, videos, photos, evaluation, the Python API)
passes these, never dicts of loose keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """A face rectangle in pixel coordinates of the frame it was found in."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def iou(self, other: Box) -> float:
        """Intersection over union: how much two boxes are the same face."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union else 0.0


@dataclass(frozen=True)
class Frame:
    """One captured picture: BGR pixels, its index in the source, its time in the stream and on the clock."""

    image: np.ndarray
    index: int
    stream_time_s: float
    wall_time: float


@dataclass(frozen=True)
class Prediction:
    """Class probabilities for one face, with the winning label and its confidence."""

    probabilities: tuple[float, ...]
    classes: tuple[str, ...]

    @property
    def index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        return self.classes[self.index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.index])


@dataclass(frozen=True)
class Face:
    """A face in one frame: where, who (id across frames), this frame's and the smoothed prediction."""

    box: Box
    face_id: int
    raw: Prediction
    smoothed: Prediction


@dataclass(frozen=True)
class FrameResult:
    """What the monitor knows about one frame."""

    frame: Frame
    faces: tuple[Face, ...]
