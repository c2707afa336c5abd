"""Sources: one code path for camera/file/URL; the live reader never falls behind."""

from __future__ import annotations

import time

import numpy as np
import pytest

from monitor.errors import UserError
from monitor.sources import LatestFrameReader, Source, frames, open_source, parse_spec


def test_parse_spec():
    assert parse_spec("0") == ("camera", 0)
    assert parse_spec("2") == ("camera", 2)
    assert parse_spec("rtsp://cam.local/stream") == ("stream", "rtsp://cam.local/stream")
    assert parse_spec("clip.mp4") == ("file", "clip.mp4")


def test_latest_reader_drops_frames_instead_of_lagging(videos_dir):
    source = open_source(str(videos_dir / "frown_then_smile.mp4"))  # 250 frames at 30 fps
    reader = LatestFrameReader(source)
    start = time.monotonic()
    lags = []
    for i, frame in enumerate(reader):
        expected = (time.monotonic() - start) * source.fps  # the frame a camera would show now
        lags.append(expected - frame.index)
        time.sleep(0.1)  # a consumer 3x slower than the source
        if i == 25:
            break
    reader.stop()
    source.release()
    assert max(lags) < 3 * 1.5  # never more than ~one processing time behind
    assert reader.dropped > 30


class StallingCapture:
    """A stream that delivers 3 frames and then nothing."""

    def __init__(self):
        self.n = 0

    def read(self):
        self.n += 1
        return (True, np.zeros((4, 4, 3), np.uint8)) if self.n <= 3 else (False, None)

    def release(self):
        pass


def test_stalled_stream_is_retried_then_ends():
    source = Source("rtsp://x", "stream", StallingCapture(), 30.0, 0)
    reader = LatestFrameReader(source, stall_timeout_s=0.3)
    start = time.monotonic()
    got = list(reader)
    assert 1 <= len(got) <= 3
    assert reader.stalled
    assert 0.25 < time.monotonic() - start < 3


def test_batch_frames_stride(videos_dir):
    source = open_source(str(videos_dir / "single_face.mp4"))
    idx = [f.index for f in frames(source, stride=5)]
    assert idx == list(range(0, 72, 5))


@pytest.mark.parametrize("spec, needle", [("99", "cannot open camera"), ("/no/such/video.mp4", "not found")])
def test_open_errors(spec, needle):
    with pytest.raises(UserError, match=needle):
        open_source(spec)


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("hello")
    with pytest.raises(UserError, match="not a video"):
        open_source(str(p))
