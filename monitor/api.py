"""The Python front door: `EmotionMonitor`, one import and one call on a picture already in memory.

    from monitor import EmotionMonitor
    monitor = EmotionMonitor()                      # the shipped default model
    for face in monitor.analyze(image):             # a BGR numpy image, as OpenCV reads it
        print(face.box, face.label, f"{face.confidence:.0%}")

The command line is built on this class: the same model loading, detector settings,
pipelines and log rows, so a script and `python -m monitor` give the same answers.
Results are plain frozen dataclasses of Python numbers, easy to print, compare or turn into
a DataFrame.

One `EmotionMonitor` may be shared by threads (a web server's workers, a notebook's
background jobs): see the class's docstring for what is and is not safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.core.errors import BadInput, UserError

if TYPE_CHECKING:
    import pandas as pd

    from monitor.core.types import FrameResult
    from monitor.vision.classify import Classifier
    from monitor.vision.pipeline import Pipeline


@dataclass(frozen=True)
class FaceEmotion:
    """One face: its box (x, y, w, h) in pixels, the label shown, its confidence and every class's probability.

    `face_id` follows a face across the frames of a video (1, 2, ...); in a still picture faces
    are numbered largest first.
    """

    box: tuple[int, int, int, int]
    label: str
    confidence: float
    probabilities: dict[str, float]
    face_id: int = 0


@dataclass(frozen=True)
class FrameEmotions:
    """The faces of one video frame, largest first, with the frame's index and its time in the video (seconds)."""

    index: int
    time_s: float
    faces: tuple[FaceEmotion, ...]
    image: np.ndarray | None = None  # the frame's pixels (BGR), kept for drawing; None when not asked for


def _faces_of(result: FrameResult, smoothed: bool) -> tuple[FaceEmotion, ...]:
    faces = []
    for face in sorted(result.faces, key=lambda f: -f.box.area):
        p = face.smoothed if smoothed else face.raw
        b = face.box
        faces.append(
            FaceEmotion(
                box=(int(b.x), int(b.y), int(b.w), int(b.h)),
                label=p.label,
                confidence=float(p.confidence),
                probabilities={c: float(v) for c, v in zip(p.classes, p.probabilities)},
                face_id=int(face.face_id),
            )
        )
    return tuple(faces)


def _for_python(err: UserError) -> BadInput:
    """The command line's message for Python callers: the argument's name (`source`) instead of its flag (`--source`)."""
    translated = BadInput(re.sub(r"(?<![\w-])--(source|model|classes)\b", r"\1", str(err)))
    translated.command_line = str(err)  # the command line, built on this class, prints its own flags' names
    return translated


def for_command_line(err: BadInput) -> UserError:
    """An API error as the command line says it: with its options' names (`--model`), as before `_for_python`."""
    return UserError(getattr(err, "command_line", str(err)))


def as_bgr(image, rgb: bool = False, what: str = "image") -> np.ndarray:
    """A checked uint8 BGR (or gray) picture; a clear ValueError for anything else (never an OpenCV assertion)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array (height x width x 3 BGR, or height x width gray), got {type(image).__name__}")
    if image.size == 0 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise BadInput(f"{what}: empty or not a picture (shape {image.shape}); give height x width x 3 (BGR) or height x width (gray)")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise BadInput(f"{what}: {image.shape[2]} channels; give 1 (gray), 3 (BGR) or 4 (BGRA)")
    if image.dtype != np.uint8:
        if image.dtype.kind == "f" and np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1:
            raise BadInput(f"{what}: float pixels in 0..1; give uint8 0..255, e.g. (image * 255).astype(np.uint8)")
        raise BadInput(f"{what}: pixels of type {image.dtype}; give uint8 (0..255), as cv2.imread returns")
    import cv2

    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGR if rgb else cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and rgb:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(image)


class EmotionMonitor:
    """Faces and their emotions in pictures, videos and camera streams, with the monitor's own model and rules.

    `model`: a shipped model's name (`happy-neutral-sad`, `happy-sad`, `emotions`) or a model
    file or folder from `python -m train`. `classes`: choose only among these of the model's
    classes. `min_face`: smallest face in pixels (default: 48 in videos, and down to the
    detector's 24-pixel window in still pictures, as the command line does). `smooth`: frames over which a face's label
    is averaged in videos (1 = off). `detect_every`: in videos, scan the whole frame every Nth
    frame and re-find known faces in between, or keep the box of a face that has not moved
    (1 = full scan always). `class_bias`: lean the model towards (B > 0) or away from (B < 0)
    classes, e.g. {"sad": 1.0}, replacing its own operating point exactly as `--class-bias` and
    `train export --class-bias` do. `blur`: `draw` pixelates every face. `bars`: `draw` adds a
    probability bar per class beside each face.

    Threads: one instance may be shared. `analyze`, `video`, `dataframe`, `results` and `draw`
    may run in several threads at once and give each thread the results it would get alone:
    each picture borrows a face search of its own (the Haar cascades keep per-call state) and
    the network classifies one batch at a time (the LiteRT interpreter is not reentrant).
    Not safe: iterating one `video()` / `results()` generator from two threads at once (each
    thread should call `video()` itself), and sharing one pipeline from `video_pipeline()` or
    `picture_pipeline()` between threads (each is for one thread).
    """

    def __init__(
        self,
        model: str | Path | None = "happy-neutral-sad",
        classes: list[str] | None = None,
        min_face: int | None = None,
        smooth: int = 5,
        detect_every: int = 4,
        threads: int | None = None,
        class_bias: dict[str, float] | None = None,
        blur: bool = False,
        bars: bool = True,
    ) -> None:
        from monitor.vision.classify import load_classifier

        for name, value, low in (("min_face", min_face, 24), ("smooth", smooth, 1), ("detect_every", detect_every, 1)):
            if value is None and name == "min_face":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise BadInput(f"{name}={value!r}: must be a whole number of at least {low}")
        self.min_face, self.smooth, self.detect_every = min_face, smooth, detect_every
        self.blur, self.bars = bool(blur), bool(bars)
        bias = _checked_bias(class_bias)
        try:
            loaded = load_classifier(model, threads=threads).with_class_bias(bias)
            self.classifier: Classifier = loaded.restricted(list(classes) if classes else None)
        except UserError as err:  # the command line prints these in one line; from Python they are exceptions
            raise _for_python(err) from None
        self._free_pictures: list[Pipeline] = []  # picture pipelines not in use by a thread right now
        self._lock = threading.Lock()

    @property
    def classes(self) -> tuple[str, ...]:
        """The labels this monitor can give, in the order of its probabilities."""
        return tuple(self.classifier.classes)

    def video_pipeline(self) -> Pipeline:
        """A fresh pipeline for one video or stream: Haar detector, tracking and smoothing (what the command line runs)."""
        from monitor.vision.pipeline import make_pipeline

        return make_pipeline(self.classifier, self.smooth, self.detect_every, self.min_face)

    def picture_pipeline(self) -> Pipeline:
        """A pipeline for still pictures, for one thread: the thorough face search, no smoothing (photo mode)."""
        from monitor.vision.pipeline import picture_pipeline

        return picture_pipeline(self.classifier, self.min_face)

    @contextmanager
    def _borrowed_picture_pipeline(self) -> Iterator[Pipeline]:
        """A picture pipeline no other thread uses meanwhile: a free one, or a new one when all are busy."""
        with self._lock:
            pipeline = self._free_pictures.pop() if self._free_pictures else None
        pipeline = pipeline or self.picture_pipeline()
        try:
            yield pipeline
        finally:
            with self._lock:
                self._free_pictures.append(pipeline)

    def analyze(self, image: np.ndarray, rgb: bool = False) -> list[FaceEmotion]:
        """The faces in one picture, largest first (an empty list when there is none).

        `image`: uint8 BGR as OpenCV gives it, or gray; `rgb=True` for RGB (PIL, matplotlib).
        """
        from monitor.apps.loop import FrameLoop
        from monitor.core.types import Frame

        image = as_bgr(image, rgb)
        with self._borrowed_picture_pipeline() as pipeline:
            (result,) = FrameLoop(pipeline, each_alone=True).run([Frame(image, 0, 0.0, 0.0)])
        return list(_faces_of(result, smoothed=False))

    def classify(self, face: np.ndarray, rgb: bool = False) -> FaceEmotion:
        """The emotion of a picture that already is a face (a crop, FER-style): no face search, the whole picture is the face.

        The centre square is taken, as training takes a crop, so `box` is that square in the picture.
        """
        import cv2

        from monitor.core.types import Prediction

        image = as_bgr(face, rgb, what="face")
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        side = min(h, w)
        probs = self.classifier.probabilities(self.classifier.crop_rule.whole(gray)[None])[0]
        p = Prediction(tuple(float(v) for v in probs), self.classes)
        return FaceEmotion(((w - side) // 2, (h - side) // 2, side, side), p.label, p.confidence, dict(zip(p.classes, p.probabilities)), 1)

    def results(self, source: str | int | Path | Iterable[np.ndarray], fps: float | None = None) -> Iterator[FrameResult]:
        """The pipeline's own FrameResults for every frame of a video file, camera index or iterable of frames (timed at `fps`)."""
        import time

        from monitor.apps.loop import FrameLoop
        from monitor.core.types import Frame
        from monitor.io.native_logs import native_stderr
        from monitor.io.sources import frames, open_source

        if isinstance(source, np.ndarray | bool):
            raise TypeError("source: give a video path, a camera index or an iterable of frames; for one picture use analyze()")
        loop = FrameLoop(self.video_pipeline())
        if isinstance(source, str | int | Path):
            try:
                with native_stderr():  # OpenCV's own lines about a camera it cannot open; the command line hides them too
                    opened = open_source(str(source))
            except UserError as err:
                raise _for_python(err) from None
            try:
                yield from loop.run(frames(opened))
            finally:
                opened.release()
            return
        fps = _checked_fps(fps)
        yield from loop.run(Frame(as_bgr(image, what=f"frame {index}"), index, index / fps, time.time()) for index, image in enumerate(source))

    def video(
        self, source: str | int | Path | Iterable[np.ndarray], keep_images: bool = False, fps: float | None = None
    ) -> Iterator[FrameEmotions]:
        """Per-frame faces of a video path, camera index or iterable of BGR frames, tracked (`face_id`) and smoothed.

        Frames of an iterable are timed at `fps` per second (default 30); a file keeps its own times. `keep_images=True` keeps each frame's
        pixels on its result (for `draw`). Bad input raises ValueError (a missing file, a frame
        that is not a picture).
        """
        try:
            for result in self.results(source, fps):
                f = result.frame
                yield FrameEmotions(f.index, round(float(f.stream_time_s), 3), _faces_of(result, smoothed=True), f.image if keep_images else None)
        except UserError as err:
            raise _for_python(err) from None

    def dataframe(self, source: str | int | Path | Iterable[np.ndarray], name: str | None = None, fps: float | None = None) -> pd.DataFrame:
        """A whole video as a DataFrame with the mood log's columns: one row per face per frame, one empty row per frame without."""
        import pandas as pd

        from monitor.moodlog.schema import INTEGER_COLUMNS, columns_for, rows_for

        label = name or (str(source) if isinstance(source, str | int | Path) else "frames")
        rows: list[tuple] = []
        try:
            for result in self.results(source, fps):
                rows += rows_for(result, label, len(self.classes))
        except UserError as err:
            raise _for_python(err) from None
        table = pd.DataFrame(rows, columns=columns_for(self.classes))
        for column in INTEGER_COLUMNS:
            table[column] = table[column].astype("Int64")
        # the same dtypes whether or not any frame has a face (a column of None alone would be `object`)
        for column in ["confidence", *(f"p_{c}" for c in self.classes)]:
            table[column] = table[column].astype("float64")
        table["label"] = table["label"].astype(pd.Series(["text"]).dtype)  # pandas' own dtype for text (str in pandas 3)
        return table

    def draw(
        self, image: np.ndarray, faces: Iterable[FaceEmotion], rgb: bool = False, blur: bool | None = None, bars: bool | None = None
    ) -> np.ndarray:
        """A copy of `image` with each face's box, label and confidence drawn as the monitor's window shows them.

        `blur` pixelates the faces first and `bars` adds probability bars (default: as the monitor was made).
        """
        from monitor.core.types import Box, Face, Frame, FrameResult
        from monitor.vision.draw import blur_faces, draw

        copy = as_bgr(image, rgb).copy()
        if copy.ndim == 2:
            import cv2

            copy = cv2.cvtColor(copy, cv2.COLOR_GRAY2BGR)
        from monitor.core.types import Prediction

        drawn = []
        for i, face in enumerate(faces, 1):
            if not isinstance(face, FaceEmotion):
                raise TypeError(f"faces: expected FaceEmotion results of analyze() or video(), got {type(face).__name__}")
            p = Prediction(tuple(face.probabilities.values()), tuple(face.probabilities))
            drawn.append(Face(Box(*face.box), face.face_id or i, p, p))
        if self.blur if blur is None else blur:
            blur_faces(copy, [face.box for face in drawn])
        draw(copy, FrameResult(Frame(copy, 0, 0.0, 0.0), tuple(drawn)), bars=self.bars if bars is None else bars)
        if rgb:
            import cv2

            copy = cv2.cvtColor(copy, cv2.COLOR_BGR2RGB)
        return copy


def _checked_bias(bias) -> dict[str, float] | None:
    """class_bias as {class: number}; BadInput naming the argument otherwise (class names are checked with the model)."""
    import math

    if bias is None:
        return None
    if not isinstance(bias, dict) or not all(isinstance(k, str) for k in bias):
        raise BadInput(f"class_bias={bias!r}: give a dict of class name to number, e.g. {{'sad': 1.0}}")
    for name, value in bias.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 5:
            raise BadInput(f"class_bias[{name!r}]={value!r}: give a number between -5 and 5")
    return {k: float(v) for k, v in bias.items()}


def _checked_fps(fps) -> float:
    """fps of an iterable of frames: a positive number (default 30)."""
    if fps is None:
        return 30.0
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps < 10000:
        raise BadInput(f"fps={fps!r}: give the frames' rate, a positive number such as 30")
    return float(fps)
