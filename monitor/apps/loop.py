"""The one frame loop: frames -> pipeline -> steps, for every mode.

Live camera, a video file, a folder of videos, photos, `monitor evaluate`, `monitor bench` and
the Python API all run frames through `FrameLoop`: a mode chooses its frames (a source, a
folder of pictures, an iterable), its steps (log rows, draw, record, show) and its pace, never
its own copy of the loop. A step is any callable taking the frame's `FrameResult`; one that
returns False ends the loop after that frame (the window's q key). Each step's time is summed
under its `name`, beside the pipeline's own stages, for the benchmark.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TextIO

from monitor.moodlog.schema import BASE_COLUMNS, rows_for
from monitor.vision.draw import blur_faces, draw

if TYPE_CHECKING:
    from monitor.core.types import Frame, FrameResult
    from monitor.io.video_sink import VideoSink
    from monitor.moodlog.writer import MoodLog
    from monitor.vision.pipeline import Pipeline


class Step(Protocol):
    name: str

    def __call__(self, result: FrameResult) -> bool | None: ...


@dataclass
class FrameLoop:
    """Runs frames through a pipeline and hands each result to the steps, in order.

    `each_alone`: every frame is unrelated to the one before (photos): face ids restart and
    nothing is smoothed across frames.
    """

    pipeline: Pipeline
    steps: Sequence[Step | Callable[[FrameResult], bool | None]] = ()
    each_alone: bool = False
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        """Yield each frame's result after every step has seen it; stop early when a step says so."""
        names = [getattr(step, "name", getattr(step, "__name__", type(step).__name__)) for step in self.steps]
        for frame in frames:
            if self.each_alone:
                self.pipeline.reset()
            result = self.pipeline.analyze(frame)
            go_on = True
            for name, step in zip(names, self.steps):
                t = time.perf_counter()
                go_on = step(result) is not False
                self.seconds[name] += time.perf_counter() - t
                if not go_on:
                    break
            yield result
            if not go_on:
                return

    def run_all(self, frames: Iterable[Frame]) -> int:
        """Run every frame for its steps alone; the number of frames processed."""
        return sum(1 for _ in self.run(frames))


@dataclass
class LogRows:
    """Each frame's mood log rows: one per face, or one empty row. `source` names the input, per frame when a callable."""

    log: MoodLog
    source: str | Callable[[FrameResult], str]
    name: str = "log"

    def __call__(self, result: FrameResult) -> None:
        source = self.source(result) if callable(self.source) else self.source
        self.log.add(rows_for(result, source, len(self.log.classes)))


@dataclass
class Annotate:
    """Draw boxes, labels and confidences on the frame's own pixels (and the processing rate, live).

    `bars`: probability bars beside each face, fixed or asked each frame (the window's b key).
    """

    fps: Callable[[], float] | None = None
    bars: bool | Callable[[], bool] = False
    name: str = "draw"

    def __call__(self, result: FrameResult) -> None:
        bars = self.bars() if callable(self.bars) else self.bars
        draw(result.frame.image, result, self.fps() if self.fps else None, bars=bars)


@dataclass
class Blur:
    """Pixelate every face before anything is drawn or written: the faces of this frame and of the last `keep` frames.

    Keeping recent boxes covers a frame where the detector misses a face for a moment, so a
    recording never shows it in the clear between two detections.
    """

    keep: int = 15
    recent: deque = field(default_factory=lambda: deque(maxlen=15))
    name: str = "blur"

    def __post_init__(self) -> None:
        self.recent = deque(self.recent, maxlen=self.keep)

    def __call__(self, result: FrameResult) -> None:
        self.recent.append([f.box for f in result.faces])
        blur_faces(result.frame.image, [b for boxes in self.recent for b in boxes])


@dataclass
class Record:
    """Write the (annotated) frame to a video at its own time in the stream (a variable rate, --stride and dropped frames keep the timing)."""

    sink: VideoSink
    name: str = "record"

    def __call__(self, result: FrameResult) -> None:
        frame = result.frame
        self.sink.write(frame.image, frame.stream_time_s)


def frame_record(result: FrameResult, source: str) -> dict:
    """A frame as one JSON-ready object: the mood log row's fields, its faces as a list (the same values as the CSV rows)."""
    rows = rows_for(result, source, len(result.faces[0].raw.classes) if result.faces else 0)
    record = dict(zip(BASE_COLUMNS[:4], rows[0][:4]))
    face_keys = BASE_COLUMNS[4:]
    record["faces"] = []
    for face, row in zip(result.faces, rows):
        entry = dict(zip(face_keys, row[4 : len(BASE_COLUMNS)]))
        entry["probabilities"] = dict(zip(face.raw.classes, row[len(BASE_COLUMNS) :]))
        record["faces"].append(entry)
    return record


@dataclass
class JsonLines:
    """One JSON object per processed frame on a stream (standard output), flushed at once, for another program to read live.

    A reader that goes away (`| head -1`) ends the run as the window's q would: every row is still logged.
    """

    source: str | Callable[[FrameResult], str]
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    name: str = "jsonl"

    def __call__(self, result: FrameResult) -> bool:
        source = self.source(result) if callable(self.source) else self.source
        try:
            self.stream.write(json.dumps(frame_record(result, source)) + "\n")
            self.stream.flush()
        except BrokenPipeError:
            with open(os.devnull, "w") as devnull:  # Python would report the pipe again when it flushes at exit
                os.dup2(devnull.fileno(), self.stream.fileno())
            return False
        return True
