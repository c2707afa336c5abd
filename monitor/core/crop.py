"""The crop rule: how a face box becomes the network's input.

The one place where a face becomes pixels for the network: training, evaluation and the
monitor all call `CropRule.crop`, and its settings travel in the model's metadata, so the three
cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from monitor.core.types import Box


@dataclass(frozen=True)
class CropRule:
    """How a face box becomes the network's input: margin around the box, square, gray, resized.

    The margin is chosen by measurement on real faces (README, "The crop rule"): the Haar
    detector's box on FER-2013's own crops is 0.98 of the crop's side, so FER's framing is the
    bare box, and real videos and photos score best near it. Training jitters the framing
    around this rule (train/data/augment.py), so detector noise of a few pixels does not matter.
    """

    size: int = 48
    margin: float = 0.0

    def crop(self, gray: np.ndarray, box: Box) -> np.ndarray:
        """Cut the face with its margin out of a 2-D uint8 frame, padding past the edges."""
        side = max(box.w, box.h) * (1.0 + 2.0 * self.margin)
        cx, cy = box.x + box.w / 2.0, box.y + box.h / 2.0
        x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
        s = max(1, int(round(side)))
        h, w = gray.shape[:2]
        pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
        if pad:
            gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0 = x0 + pad, y0 + pad
        return self.resize(gray[y0 : y0 + s, x0 : x0 + s])

    def whole(self, gray: np.ndarray) -> np.ndarray:
        """A picture that already is a face crop (FER-style): centre square, resized."""
        h, w = gray.shape[:2]
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        return self.resize(gray[y0 : y0 + s, x0 : x0 + s])

    def resize(self, square: np.ndarray) -> np.ndarray:
        interp = cv2.INTER_AREA if square.shape[0] > self.size else cv2.INTER_LINEAR
        return cv2.resize(square, (self.size, self.size), interpolation=interp)

    def to_dict(self) -> dict:
        return asdict(self)
