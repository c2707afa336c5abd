"""One frame in, one FrameResult out: detect -> crop -> classify (one batch) -> track + smooth.

Pure composition, no I/O: the frame loop feeds it frames and hands its results to the
overlay and the mood log.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import cv2
import numpy as np

from monitor.core.types import Box, Face, Frame, FrameResult, Prediction
from monitor.vision.classify import Classifier
from monitor.vision.detect import WINDOW, DetectorSettings, HaarDetector, PictureSearch, Stillness
from monitor.vision.track import Tracker

STILL_THRESHOLD = 1.0  # gray levels of mean change in a face's 24x24 surroundings (README, "Speed")


class Pipeline:
    """Composes a face detector, the classifier and the tracker; records time spent per stage.

    With `detect_every=N` the whole frame is scanned on every Nth frame; in between, the faces
    already known are re-found near their last boxes (`detect_near`), several times cheaper,
    and a face the re-find loses triggers a full scan of that frame. A new face beside a known
    one therefore appears within N frames; with no face known every frame is scanned. With
    `still`, a frame in between whose faces' surroundings have not changed since their boxes
    were found keeps those boxes without a re-find (the crop is still cut from the new frame).
    """

    def __init__(
        self,
        detect: Callable[[np.ndarray], list[Box]],
        classifier: Classifier,
        tracker: Tracker,
        detect_near: Callable[[np.ndarray, list[Box]], list[Box]] | None = None,
        detect_every: int = 1,
        still: Stillness | None = None,
    ) -> None:
        self.detect = detect
        self.still = still
        self.detect_near = detect_near
        self.detect_every = max(1, detect_every)
        self.classifier = classifier
        self.tracker = tracker
        self.seconds: dict[str, float] = defaultdict(float)
        self._count = 0
        self._boxes: list[Box] = []
        self.rescans = 0  # frames where the re-find lost a face and the whole frame was scanned
        self.kept = 0  # frames between full scans whose faces had not moved: boxes kept without a re-find

    def reset(self) -> None:
        """Forget every face (ids, smoothing, last boxes): the next frame is unrelated (a new picture)."""
        self.tracker = Tracker(window=self.tracker.window, iou_threshold=self.tracker.iou_threshold, max_missed=self.tracker.max_missed)
        self._count = 0
        self._boxes = []
        if self.still is not None:
            self.still.remember(np.zeros((1, 1), np.uint8), [])

    def find_faces(self, gray: np.ndarray) -> list[Box]:
        """This frame's face boxes: a full scan, or the cheap re-find with a full scan as its fallback.

        The re-find can only keep faces; whenever it loses one (or no face is known) the whole
        frame is scanned at once, so a face a full scan would find never becomes a no-face row.
        """
        full = self.detect_near is None or not self._boxes or self._count % self.detect_every == 0
        self._count += 1
        if not full:
            if self.still is not None and self.still.unchanged(gray, self._boxes):
                self.kept += 1
                return self._boxes
            near = self.detect_near(gray, self._boxes)
            if len(near) == len(self._boxes):
                return self._found(gray, near)
            self.rescans += 1
        return self._found(gray, self.detect(gray))

    def _found(self, gray: np.ndarray, boxes: list[Box]) -> list[Box]:
        self._boxes = boxes
        if self.still is not None:
            self.still.remember(gray, boxes)
        return boxes

    def analyze(self, frame: Frame) -> FrameResult:
        t0 = time.perf_counter()
        image = frame.image
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = self.find_faces(gray)
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


def make_pipeline(
    classifier: Classifier, smooth: int = 5, detect_every: int = 1, min_face: int | None = None, still: float | None = STILL_THRESHOLD
) -> Pipeline:
    """The monitor's standard pipeline for video: Haar detector, this classifier, IoU tracker.

    `still`: the Stillness threshold (gray levels) under which a face's box is kept between full
    scans without a re-find; None re-finds every face on every frame between full scans.
    """
    detector = HaarDetector(DetectorSettings(min_face=min_face) if min_face else None)
    gate = Stillness(still) if still is not None else None
    return Pipeline(detector.detect, classifier, Tracker(window=smooth), detector.detect_near, detect_every, gate)


def picture_pipeline(classifier: Classifier, min_face: int | None = None) -> Pipeline:
    """The pipeline for still pictures: the thorough search, no smoothing (each picture stands alone)."""
    return Pipeline(PictureSearch(min_face or WINDOW).detect, classifier, Tracker(window=1))
