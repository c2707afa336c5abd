"""Sources: one code path for camera/file/URL; the live reader never falls behind."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from monitor.core.errors import UserError
from monitor.io.paths import parse_spec
from monitor.io.sources import LatestFrameReader, Source, frames, open_source
from tests.helpers import write_timed_video

# a phone-like variable frame rate: 30 fps for a second, then 10 fps for two (average 16.1 fps)
VFR_TIMES = [i / 30 for i in range(30)] + [1 + i / 10 for i in range(1, 21)]


def test_parse_spec():
    assert parse_spec("0") == ("camera", 0)
    assert parse_spec("2") == ("camera", 2)
    assert parse_spec("rtsp://cam.local/stream") == ("stream", "rtsp://cam.local/stream")
    assert parse_spec("clip.mp4") == ("file", "clip.mp4")


def test_a_file_named_with_a_url_inside_is_a_file(tmp_path, monkeypatch):
    """A video called `=HYPERLINK("http://...")` is a file, not a stream: a URL starts with its scheme."""
    name = '=HYPERLINK("http://evil.example","click me")'
    assert parse_spec(name) == ("file", name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "http:").mkdir()
    (tmp_path / "http:" / "x.mp4").write_bytes(b"")
    assert parse_spec("http://x.mp4") == ("file", "http://x.mp4")  # an existing file wins over a look-alike URL


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


@pytest.mark.parametrize("stride", [1, 3])
def test_a_variable_frame_rate_video_is_timed_by_its_timestamps(tmp_path, stride):
    """Frame 30 is at 1.1 s by its pts; index / average rate would say 1.86 s."""
    source = open_source(str(write_timed_video(tmp_path / "vfr.mp4", VFR_TIMES)))
    got = [(f.index, f.stream_time_s) for f in frames(source, stride)]
    source.release()
    assert [i for i, _ in got] == list(range(0, len(VFR_TIMES), stride))
    assert np.allclose([t for _, t in got], VFR_TIMES[::stride], atol=1e-6)


def test_constant_rate_times_are_index_over_rate(videos_dir):
    source = open_source(str(videos_dir / "grin.mp4"))  # 25 fps
    got = [round(f.stream_time_s, 3) for f in frames(source)]
    source.release()
    assert got == [round(i / 25, 3) for i in range(78)]


def test_realtime_plays_a_variable_frame_rate_file_at_its_own_times(tmp_path):
    times = [0.0, 0.05, 0.1, 0.4, 0.5, 0.9]
    source = open_source(str(write_timed_video(tmp_path / "vfr.mp4", times)))
    reader = LatestFrameReader(source)
    got = list(reader)  # whichever frames a slow machine hands over, each carries its own time
    reader.stop()
    source.release()
    assert got and all(abs(f.stream_time_s - times[f.index]) < 1e-6 for f in got)
    assert got[-1].index == len(times) - 1


@pytest.mark.parametrize("spec, needle", [("99", "cannot open camera"), ("/no/such/video.mp4", "not found")])
def test_open_errors(spec, needle):
    with pytest.raises(UserError, match=needle):
        open_source(spec)


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("hello")
    with pytest.raises(UserError, match="not a video"):
        open_source(str(p))


def test_a_silent_stream_gives_up_after_the_documented_timeout():
    """A server that accepts the connection and then says nothing: 'connecting...', then a one-line error within ~5 s."""
    import socket
    import threading

    from monitor.io.sources import STREAM_TIMEOUT_S

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    said = []
    start = time.monotonic()
    with pytest.raises(UserError, match=r"cannot open stream .*gave up after 5 s"):
        open_source(f"http://127.0.0.1:{server.getsockname()[1]}/live", say=said.append)
    took = time.monotonic() - start
    server.close()
    assert said and said[0].startswith("connecting to http://127.0.0.1")
    assert STREAM_TIMEOUT_S - 1 < took < STREAM_TIMEOUT_S + 6  # was 30-35 s before the timeouts were set


def test_a_video_with_a_name_that_is_not_utf8_opens(tmp_path, videos_dir):
    """OpenCV crashes (SIGSEGV) on such names; the source goes through an ASCII link instead."""
    odd = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.mp4")
    shutil.copy(videos_dir / "single_face.mp4", odd)
    source = open_source(odd)
    assert sum(1 for _ in frames(source)) == 72
    source.release()
