"""Face ids across frames (IoU matching) and each face's smoothed probabilities."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from monitor.core.types import Box


@dataclass
class _Track:
    face_id: int
    box: Box
    history: deque
    missed: int = 0


@dataclass
class Tracker:
    """Greedy IoU matching of this frame's boxes to the faces of recent frames.

    A face that is not seen for more than `max_missed` processed frames is forgotten; a new
    face gets the next id. Each face keeps the last `window` probability vectors, whose mean
    is its smoothed prediction (`window=1` turns smoothing off).
    """

    window: int = 5
    iou_threshold: float = 0.3
    max_missed: int = 10
    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 1

    def update(self, boxes: list[Box], probabilities: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """For each box (in order): its face id and smoothed probabilities."""
        pairs = sorted(
            ((box.iou(t.box), i, j) for i, box in enumerate(boxes) for j, t in enumerate(self._tracks)),
            reverse=True,
        )
        assigned: dict[int, _Track] = {}
        used: set[int] = set()
        for iou, i, j in pairs:
            if iou < self.iou_threshold:
                break
            if i not in assigned and j not in used:
                assigned[i] = self._tracks[j]
                used.add(j)
        for j, track in enumerate(self._tracks):
            if j not in used:
                track.missed += 1
        out = []
        for i, box in enumerate(boxes):
            track = assigned.get(i)
            if track is None:
                track = _Track(self._next_id, box, deque(maxlen=max(1, self.window)))
                self._next_id += 1
                self._tracks.append(track)
            track.box, track.missed = box, 0
            track.history.append(np.asarray(probabilities[i], dtype=np.float32))
            out.append((track.face_id, np.mean(track.history, axis=0)))
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        return out
