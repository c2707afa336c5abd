"""Make docs/overlay.png from the monitor's own annotated videos: frames cropped and tiled side by side.

for v in street_multi_face talking_smiling sad_seated_far; do
    python3 -m monitor --source ../shared/videos/$v.mp4 --output /tmp/$v.mp4 --no-display
done
python3 docs/overlay.py /tmp docs/overlay.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HEIGHT = 360
# annotated video, frame index, crop (x0, y0, x1, y1) in the video's pixels
TILES = [
    ("street_multi_face.mp4", 11, (480, 560, 1240, 960)),  # three walkers, neutral
    ("talking_smiling.mp4", 230, (40, 220, 700, 880)),  # a smile, happy
    ("sad_seated_far.mp4", 113, (470, 90, 1010, 560)),  # a woman crying, sad
]


def frame(path: Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = cap.read()
    if not ok:
        sys.exit(f"error: {path}: no frame {index}")
    return image


def main(folder: Path, out: Path) -> None:
    tiles = []
    for name, index, (x0, y0, x1, y1) in TILES:
        crop = frame(folder / name, index)[y0:y1, x0:x1]
        tiles.append(cv2.resize(crop, (round(crop.shape[1] * HEIGHT / crop.shape[0]), HEIGHT), interpolation=cv2.INTER_AREA))
    gap = np.full((HEIGHT, 6, 3), 255, np.uint8)
    picture = np.hstack([part for tile in tiles for part in (gap, tile)][1:])
    # a 256-colour palette keeps the file small
    Image.fromarray(picture[:, :, ::-1]).quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"{out}: {picture.shape[1]}x{picture.shape[0]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
