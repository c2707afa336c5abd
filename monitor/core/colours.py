"""One colour per class, the same in the live overlay and in the report's charts."""

from __future__ import annotations

# BGR colours; known emotions get fitting ones, other classes take the palette in order.
NAMED_COLOURS = {
    "happy": (0, 200, 255),
    "sad": (255, 120, 0),
    "neutral": (200, 200, 200),
    "angry": (0, 0, 230),
    "surprise": (255, 0, 255),
    "fear": (130, 0, 130),
    "disgust": (0, 140, 0),
    "contempt": (160, 160, 0),
}


PALETTE = [(0, 200, 0), (0, 140, 255), (255, 80, 80), (180, 0, 180), (0, 200, 200), (120, 120, 255), (255, 255, 0)]


def class_colour(label: str, classes: tuple[str, ...]) -> tuple[int, int, int]:
    if label.lower() in NAMED_COLOURS:
        return NAMED_COLOURS[label.lower()]
    return PALETTE[classes.index(label) % len(PALETTE)] if label in classes else PALETTE[0]
