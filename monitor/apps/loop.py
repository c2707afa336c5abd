"""The one frame loop: frames -> pipeline -> steps, for every mode.

Live camera, a video file, a folder of videos, photos, `monitor evaluate`, `monitor bench` and
the Python API all run frames through `FrameLoop`: a mode chooses its frames (a source, a
folder of pictures, an iterable), its steps (log rows, draw, record, show) and its pace, never
its own copy of the loop. A step is any callable taking the frame's `FrameResult`; one that
returns False ends the loop after that frame (the window's q key). Each step's time is summed
under its `name`, beside the pipeline's own stages, for the benchmark.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from monitor.moodlog.schema import rows_for
from monitor.vision.draw import draw

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
    """Draw boxes, labels and confidences on the frame's own pixels (and the processing rate, live)."""

    fps: Callable[[], float] | None = None
    name: str = "draw"

    def __call__(self, result: FrameResult) -> None:
        draw(result.frame.image, result, self.fps() if self.fps else None)


@dataclass
class Record:
    """Write the (annotated) frame to a video at its own time in the stream (a variable rate, --stride and dropped frames keep the timing)."""

    sink: VideoSink
    name: str = "record"

    def __call__(self, result: FrameResult) -> None:
        frame = result.frame
        self.sink.write(frame.image, frame.stream_time_s)
