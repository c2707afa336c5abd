"""One frame in, one FrameResult out: detect -> crop -> classify (one batch) -> track + smooth.

Pure composition, no I/O: the command line feeds it frames and hands its results to the
overlay and the mood log.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from monitor.classifier import Classifier, Prediction
from monitor.faces import Box
from monitor.sources import Frame
from monitor.tracking import Tracker


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


class Pipeline:
    """Composes a face detector, the classifier and the tracker; records time spent per stage."""

    def __init__(self, detect: Callable[[np.ndarray], list[Box]], classifier: Classifier, tracker: Tracker) -> None:
        self.detect = detect
        self.classifier = classifier
        self.tracker = tracker
        self.seconds: dict[str, float] = defaultdict(float)

    def analyze(self, frame: Frame) -> FrameResult:
        t0 = time.perf_counter()
        image = frame.image
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = self.detect(gray)
        t1 = time.perf_counter()
        rule = self.classifier.crop_rule
        crops = np.stack([rule.crop(gray, b) for b in boxes]) if boxes else np.zeros((0, rule.size, rule.size), np.uint8)
        probs = self.classifier.probabilities(crops)
        t2 = time.perf_counter()
        tracked = self.tracker.update(boxes, probs)
        classes = self.classifier.classes
        faces = tuple(
            Face(box, face_id, Prediction(tuple(map(float, p)), classes), Prediction(tuple(map(float, s)), classes))
            for box, p, (face_id, s) in zip(boxes, probs, tracked)
        )
        t3 = time.perf_counter()
        self.seconds["detect"] += t1 - t0
        self.seconds["classify"] += t2 - t1
        self.seconds["track"] += t3 - t2
        return FrameResult(frame, faces)
