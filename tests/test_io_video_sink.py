"""--output keeps the input's sound: the audio track copied (not re-encoded), as long as the input, in every container."""

from __future__ import annotations

import av
import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def audio_of(path) -> tuple[str, float, float] | None:
    """(codec, first and last packet time in seconds) of a file's audio track, None when it has none."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None
        a = c.streams.audio[0]
        times = [float(p.pts * p.time_base) for p in c.demux(a) if p.pts is not None]
        return a.codec_context.name, min(times), max(times)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".avi"])
def test_the_recording_keeps_the_sound_of_the_video(tmp_path, videos_dir, suffix):
    video = videos_dir / "frown_then_smile.mp4"  # 8.3 s, AAC sound
    out = tmp_path / f"out{suffix}"
    proc = run_cli("monitor", "--source", str(video), "--no-display", "--quiet", "--log", str(tmp_path / "l.csv"), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    codec, first, last = audio_of(out)
    _, src_first, src_last = audio_of(video)
    assert codec == "aac" and abs(last - src_last) < 0.05 and first < 0.1  # copied whole: from the start to the end
    with av.open(str(out)) as c, av.open(str(video)) as s:
        assert abs(c.duration - s.duration) / 1e6 < 0.1


def test_a_track_that_starts_late_keeps_its_place_and_a_silent_video_stays_silent(tmp_path, videos_dir):
    late = videos_dir / "face_then_no_face.mov"  # its sound starts 2.4 s into the video
    out = tmp_path / "late.mkv"
    proc = run_cli("monitor", "--source", str(late), "--no-display", "--quiet", "--log", str(tmp_path / "a.csv"), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert abs(audio_of(out)[2] - audio_of(late)[2]) < 0.05  # the last sound at the same moment as in the original
    silent = tmp_path / "silent.mp4"
    proc = run_cli("monitor", "--source", str(videos_dir / "grin.mp4"), "--no-display", "--quiet", "--log", str(tmp_path / "b.csv"), "--output", str(silent))
    assert proc.returncode == 0 and audio_of(silent) is None
