"""Text in any script on a frame: OpenCV's Hershey font for ASCII (fast, as always), a TrueType font through Pillow otherwise.

The Hershey fonts have ASCII only: any other letter comes out as '?'. matplotlib ships DejaVu Sans
(Latin, Greek, Cyrillic and more, but no Chinese or Japanese); a CJK font is used where the system
has one. Letters no font here has are written as escaped code points (\\u60b2), never as '?'.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

HERSHEY = cv2.FONT_HERSHEY_SIMPLEX
PX_PER_SCALE = 30  # a TrueType font this many px per Hershey scale unit has about the Hershey capital height and width
BUNDLED_NAME = "DejaVu Sans"  # the font matplotlib ships: what the plots use and every machine with the project has
# Fonts with Chinese/Japanese/Korean letters that systems often have (Linux packages, macOS, Windows); optional.
CJK_FONT_FILES = (
    "NotoSansCJK*",
    "NotoSerifCJK*",
    "SourceHanSans*",
    "DroidSansFallback*",
    "wqy-*",
    "ipag*",
    "ipaexg*",
    "VL-Gothic*",
    "NanumGothic*",
    "Hiragino*",
    "PingFang*",
    "AppleSDGothicNeo*",
    "msyh*",
    "msgothic*",
    "YuGoth*",
    "malgun*",
    "simsun*",
)
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)


@functools.cache
def bundled_font() -> Path:
    """DejaVu Sans as matplotlib ships it (found from the package, without importing matplotlib's font manager)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"


@functools.cache
def fonts() -> tuple[Path, ...]:
    """The fonts text may be drawn with, best first: the bundled one, then any CJK font of this system."""
    from fnmatch import fnmatch

    found = [bundled_font()]
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if root.is_dir():  # one walk of each font folder, on the first label that needs it
            found += sorted(
                p
                for p in root.rglob("*")
                if p.suffix.lower() in {".ttf", ".otf", ".ttc"} and any(fnmatch(p.name, n) for n in CJK_FONT_FILES)
            )
    return tuple(dict.fromkeys(found))


@functools.cache
def _letters(font: Path) -> frozenset[int]:
    """The code points a font has a glyph for (read with matplotlib's FreeType)."""
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(str(font)).get_charmap())
    except (OSError, RuntimeError):  # an unreadable font file is no font
        return frozenset()


def missing(text: str, font: Path | None = None) -> str:
    """The letters of `text` that `font` (the bundled font by default) has no glyph for, in order, each once."""
    have = _letters(font or bundled_font())
    return "".join(dict.fromkeys(c for c in text if not c.isspace() and ord(c) not in have))


def escaped(text: str) -> str:
    """`text` with each letter the bundled font lacks written as its code point (\\u60b2): as any machine can draw it."""
    have = _letters(bundled_font())
    return "".join(c if c.isascii() or ord(c) in have else c.encode("ascii", "backslashreplace").decode() for c in text)


def _font_of(letter: str) -> Path | None:
    """The first font that has this letter (spaces and ASCII: the bundled one); None: no font here has it."""
    if letter.isascii() or letter.isspace():
        return bundled_font()
    return next((f for f in fonts() if ord(letter) in _letters(f)), None)


@functools.lru_cache(maxsize=256)
def runs(text: str) -> tuple[tuple[str, Path], ...]:
    """`text` cut into pieces that one font each draws; a letter no font has is written as its escaped code point."""
    out: list[list] = []
    for c in text:
        font = _font_of(c)
        piece, font = (c, font) if font else (escaped(c), bundled_font())
        if out and out[-1][1] == font:
            out[-1][0] += piece
        else:
            out.append([piece, font])
    return tuple((piece, font) for piece, font in out)


def as_drawn(text: str) -> str:
    """`text` as it will be drawn here: itself, or with each letter no font has written as an escaped code point (\\u60b2)."""
    return text if text.isascii() else "".join(piece for piece, _ in runs(text))


@functools.lru_cache(maxsize=32)
def _truetype(font: Path, px: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(font), px)


def text_size(text: str, scale: float, thick: int) -> tuple[tuple[int, int], int]:
    """((width, height above the baseline), depth below it) of `text`, as cv2.getTextSize gives for the Hershey font."""
    if not text.isascii():
        text = as_drawn(text)
        if not text.isascii():
            alpha, _, top, advance = _rendered(text, _px(scale))
            return (advance, max(_cap(_px(scale)), -top)), max(1, alpha.shape[0] + top)
    return cv2.getTextSize(text, HERSHEY, scale, thick)


def put_text(image: np.ndarray, text: str, org: tuple[int, int], scale: float, colour, thick: int) -> None:
    """Draw `text` with its baseline starting at `org`, as cv2.putText(..., LINE_AA) does (and does, for ASCII)."""
    if not text.isascii():
        text = as_drawn(text)
        if not text.isascii():
            alpha, left, top, _ = _rendered(text, _px(scale))
            _blend(image, alpha, org[0] + left, org[1] + top, colour)
            return
    cv2.putText(image, text, org, HERSHEY, scale, colour, thick, cv2.LINE_AA)


@functools.lru_cache(maxsize=32)
def _cap(px: int) -> int:
    """The bundled font's capital height: the least a label's text rises above its baseline, as in the Hershey font."""
    return -_truetype(bundled_font(), px).getbbox("H", anchor="ls")[1]


def _px(scale: float) -> int:
    return max(6, round(PX_PER_SCALE * scale))


@functools.lru_cache(maxsize=512)
def _rendered(text: str, px: int) -> tuple[np.ndarray, int, int, int]:
    """Coverage (0..1) of the text in `px`-pixel fonts, its offset from the baseline origin and its advance; kept, as labels repeat."""
    from PIL import Image, ImageDraw

    pieces = [(piece, _truetype(font, px)) for piece, font in runs(text)]
    boxes = [font.getbbox(piece, anchor="ls") for piece, font in pieces]
    starts = np.cumsum([0.0] + [font.getlength(piece) for piece, font in pieces])
    left, top = min(0, boxes[0][0]), min(b[1] for b in boxes)
    right, bottom = max(x + b[2] for x, b in zip(starts, boxes)), max(b[3] for b in boxes)
    mask = Image.new("L", (max(1, int(np.ceil(right)) - left), max(1, bottom - top)))
    pen = ImageDraw.Draw(mask)
    for x, (piece, font) in zip(starts, pieces):
        pen.text((x - left, -top), piece, font=font, fill=255, anchor="ls")
    return np.asarray(mask, np.float32) / 255.0, left, top, int(np.ceil(starts[-1]))


def _blend(image: np.ndarray, alpha: np.ndarray, x: int, y: int, colour) -> None:
    """Lay `colour` over the image where `alpha` covers it, clipped to the image."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + alpha.shape[1]), min(h, y + alpha.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    a = np.ascontiguousarray(alpha[y0 - y : y1 - y, x0 - x : x1 - x])
    region = image[y0:y1, x0:x1]
    ink = np.empty_like(region)
    ink[...] = colour[0] if image.ndim == 2 else colour
    region[...] = cv2.blendLinear(ink, np.ascontiguousarray(region), a, 1 - a)
