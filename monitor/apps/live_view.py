"""What the person in front of the camera sees and controls: the window, its keys, the mood strip, pausing.

The window shows the annotated frame (boxes, labels, probability bars) with, along the bottom,
the main face's last minute of shown labels as a coloured band and the session's shares so far.
Keys: q or Esc quits, space pauses logging, b toggles the bars, m the strip, f (or a click on a
face) chooses the face the strip follows. `ViewState` holds those choices; the frame loop's
steps read it, so a key takes effect on the next frame.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.core.colours import class_colour
from monitor.core.errors import UserError
from monitor.core.text import duration, plural

if TYPE_CHECKING:
    import numpy as np

    from monitor.core.types import Face, FrameResult

KEYS = (("q, Esc", "quit"), ("space", "pause or resume logging"), ("b", "probability bars on or off"),
        ("m", "mood strip on or off"), ("f", "the next face for the mood strip (or click a face)"))  # fmt: skip
HINT = "q quit  space pause  b bars  m strip  f face"
STRIP_SECONDS = 60.0


@dataclass
class ViewState:
    """The viewer's choices: what is drawn, whether rows are logged, which face the strip follows (None: the largest)."""

    bars: bool = True
    strip: bool = True
    paused: bool = False
    main_face: int | None = None
    click: tuple[int, int] | None = None

    def chosen(self, faces: tuple[Face, ...]) -> Face | None:
        """The face the strip follows: the clicked or chosen one while it is seen, else the largest."""
        if self.click is not None:
            x, y = self.click
            hit = [f for f in faces if f.box.x <= x <= f.box.x + f.box.w and f.box.y <= y <= f.box.y + f.box.h]
            self.click = None
            if hit:
                self.main_face = hit[0].face_id
        for face in faces:
            if face.face_id == self.main_face:
                return face
        return max(faces, key=lambda f: f.box.area, default=None)

    def next_face(self, faces: tuple[Face, ...]) -> None:
        """Follow the next face, left to right, after the one followed now."""
        ids = [f.face_id for f in sorted(faces, key=lambda f: f.box.x)]
        if ids:
            now = ids.index(self.main_face) if self.main_face in ids else -1
            self.main_face = ids[(now + 1) % len(ids)]


class MoodStrip:
    """The followed face's shown labels over the last minute (stream time), and the session's label shares.

    Moments are kept in growing arrays (times, label codes; 0 = no face), so drawing reads them
    without copying a minute of history each frame.
    """

    def __init__(self, classes: tuple[str, ...], seconds: float = STRIP_SECONDS) -> None:
        import numpy as np

        self.classes, self.seconds = tuple(classes), seconds
        self.counts: Counter = Counter()
        self._times = np.empty(1024, float)
        self._codes = np.empty(1024, np.int64)
        self._n = 0

    def add(self, t: float, label: str | None) -> None:
        import numpy as np

        if label is not None:
            self.counts[label] += 1
        if self._n == len(self._times):  # full: drop what is older than the strip shows, grow if still full
            keep = self._times[: self._n] >= t - self.seconds
            kept = int(keep.sum())
            size = max(len(self._times), 2 * kept)
            times, codes = np.empty(size, float), np.empty(size, np.int64)
            times[:kept], codes[:kept] = self._times[: self._n][keep], self._codes[: self._n][keep]
            self._times, self._codes, self._n = times, codes, kept
        self._times[self._n] = t
        self._codes[self._n] = self.classes.index(label) + 1 if label in self.classes else 0
        self._n += 1

    def shares_text(self) -> str:
        total = sum(self.counts.values())
        if not total:
            return "no face yet"
        return "  |  ".join(f"{c} {self.counts[c] / total:.0%}" for c in self.classes)  # ASCII: OpenCV's fonts have no middle dot

    def draw(self, image: np.ndarray) -> None:
        """A band along the bottom: each moment in its label's colour (dark where no face), newest at the right.

        Drawn a pixel column at a time from the label shown at that column's moment (one lookup for
        the whole band), so its cost does not grow with the minute of history it shows.
        """
        import cv2
        import numpy as np

        from monitor.vision.text import put_text, text_size

        h, w = image.shape[:2]
        band = max(8, h // 40)
        top = h - band
        colours = np.array([(30, 30, 30), *(class_colour(c, self.classes) for c in self.classes)], np.uint8)
        if self._n:
            times, codes = self._times[: self._n], self._codes[: self._n]
            moments = times[-1] - self.seconds * (1 - (np.arange(w) + 0.5) / w)
            at = np.searchsorted(times, moments, side="right") - 1
            column = np.where(at >= 0, codes[np.maximum(at, 0)], 0)
            image[top:h] = colours[column][None, :, :]
        else:
            image[top:h] = colours[0]
        scale = max(0.4, min(h, w) / 1000)
        text = self.shares_text()
        (tw, th), base = text_size(text, scale, 1)  # class names in any script
        y = top - 4
        cv2.rectangle(image, (0, y - th - base), (tw + 8, y + base), (30, 30, 30), cv2.FILLED)
        put_text(image, text, (4, y), scale, (255, 255, 255), 1)


@dataclass
class LiveView:
    """The frame loop's step that adds the window's own marks to the annotated frame: strip, pause mark, key hint."""

    state: ViewState
    strip: MoodStrip
    hint: bool = True
    name: str = "view"

    def __call__(self, result: FrameResult) -> None:
        face = self.state.chosen(result.faces)
        self.strip.add(result.frame.stream_time_s, face.smoothed.label if face else None)
        image = result.frame.image
        if self.state.strip:
            self.strip.draw(image)
        if self.state.paused:
            put_corner(image, "PAUSED (space resumes): nothing is logged", (0, 0, 200))
        elif self.hint:
            put_corner(image, HINT, (60, 60, 60))


def put_corner(image: np.ndarray, text: str, colour) -> None:
    """A line of text at the bottom right, above the strip and its shares line (the status line holds the top left)."""
    import cv2

    h, w = image.shape[:2]
    scale = max(0.4, min(h, w) / 1000)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = max(0, w - tw - 8), h - max(8, h // 40) - 2 * (th + base) - 12
    cv2.rectangle(image, (x - 2, y - th - 4), (w - 1, y + base), colour, cv2.FILLED)
    cv2.putText(image, text, (x + 2, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


class FaceTally:
    """Per tracked face: frames, time seen and labels shown, for the summary printed when the monitor stops."""

    name = "tally"

    def __init__(self) -> None:
        self.faces: dict[int, dict] = {}

    def __call__(self, result: FrameResult) -> None:
        t = result.frame.stream_time_s
        for face in result.faces:
            entry = self.faces.setdefault(face.face_id, {"frames": 0, "first": t, "last": t, "labels": Counter()})
            entry["frames"] += 1
            entry["last"] = t
            entry["labels"][face.smoothed.label] += 1

    def lines(self) -> list[str]:
        """One line per face: 'face 1: 78 frames over 3.1 s; happy 62 %, neutral 38 %' (the report's per-face numbers)."""
        out = []
        for face_id, e in sorted(self.faces.items()):
            shares = ", ".join(f"{label} {n / e['frames']:.0%}" for label, n in e["labels"].most_common())
            out.append(f"face {face_id}: {plural(e['frames'], 'frame')} over {duration(e['last'] - e['first'])}; {shares}")
        return out


class Window:
    """The live window; q, Esc and its close button all quit the same way; the other keys change `state`."""

    TITLE = "emotion monitor (q to quit)"
    name = "window"

    def __init__(self, state: ViewState | None = None) -> None:
        import cv2  # loaded once, with the live loop: `report` starts without OpenCV

        self.cv2 = cv2
        self.state = state or ViewState()
        self.opened = False
        self._faces: tuple = ()

    def __call__(self, result: FrameResult) -> bool:
        """The frame loop's step: show the annotated frame; False when the user quits."""
        self._faces = result.faces
        return self.show(result.frame.image)

    def show(self, image: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q or Esc or closed the window."""
        cv2 = self.cv2
        try:
            if self.opened and cv2.getWindowProperty(self.TITLE, cv2.WND_PROP_VISIBLE) < 1:
                return False  # closed with its button since the last frame
            cv2.imshow(self.TITLE, image)
            if not self.opened:
                with contextlib.suppress(cv2.error):  # a click chooses the strip's face; a build without mouse events still shows
                    cv2.setMouseCallback(self.TITLE, self._on_mouse)
            self.opened = True
            key = cv2.waitKey(1) & 0xFF
            if key in (ord("q"), 27):
                return False
            self.on_key(key)
            return cv2.getWindowProperty(self.TITLE, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            if self.opened:  # the window existed and is gone: the user closed it
                return False
            raise UserError("cannot open a window here (headless OpenCV?); run with --no-display") from None

    def on_key(self, key: int) -> None:
        """Space pauses logging, b toggles the bars, m the strip, f follows the next face."""
        s = self.state
        if key == ord(" "):
            s.paused = not s.paused
        elif key == ord("b"):
            s.bars = not s.bars
        elif key == ord("m"):
            s.strip = not s.strip
        elif key == ord("f"):
            s.next_face(self._faces)

    def _on_mouse(self, event, x, y, flags, param) -> None:
        if event == self.cv2.EVENT_LBUTTONDOWN:
            self.state.click = (x, y)

    def close(self) -> None:
        with contextlib.suppress(self.cv2.error):
            self.cv2.destroyAllWindows()
