"""The one frame loop: every frame through the pipeline, then the steps in order; a step can end the loop."""

from __future__ import annotations

import numpy as np

from monitor.apps.loop import FrameLoop
from monitor.core.types import Frame, FrameResult


class CountingPipeline:
    """Stands in for vision.Pipeline: counts analyses and resets."""

    def __init__(self) -> None:
        self.analysed: list[int] = []
        self.resets = 0

    def analyze(self, frame: Frame) -> FrameResult:
        self.analysed.append(frame.index)
        return FrameResult(frame, ())

    def reset(self) -> None:
        self.resets += 1


def frames(n: int):
    return (Frame(np.zeros((4, 4, 3), np.uint8), i, i / 30, 0.0) for i in range(n))


def test_steps_see_every_frame_in_order_and_are_timed():
    seen: list[tuple[str, int]] = []

    def first(result):
        seen.append(("first", result.frame.index))

    def second(result):
        seen.append(("second", result.frame.index))

    loop = FrameLoop(CountingPipeline(), [first, second])
    results = list(loop.run(frames(3)))
    assert [r.frame.index for r in results] == [0, 1, 2]
    assert seen == [("first", 0), ("second", 0), ("first", 1), ("second", 1), ("first", 2), ("second", 2)]
    assert set(loop.seconds) == {"first", "second"} and all(s >= 0 for s in loop.seconds.values())


def test_a_step_returning_false_ends_the_loop_after_that_frame():
    pipeline = CountingPipeline()
    later: list[int] = []
    loop = FrameLoop(pipeline, [lambda r: r.frame.index < 2, lambda r: later.append(r.frame.index)])
    assert loop.run_all(frames(10)) == 3
    assert pipeline.analysed == [0, 1, 2] and later == [0, 1]  # the stopping frame's later steps are skipped


def test_each_alone_resets_the_pipeline_before_every_frame():
    pipeline = CountingPipeline()
    FrameLoop(pipeline, each_alone=True).run_all(frames(4))
    assert pipeline.resets == 4
    pipeline = CountingPipeline()
    FrameLoop(pipeline).run_all(frames(4))
    assert pipeline.resets == 0
