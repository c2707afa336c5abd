"""Shared test helpers: where the data sets are, running the commands as a user does, and small generated inputs.

Fixtures live in conftest.py; every helper a test file needs is imported from here, never from another test file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from monitor.moodlog.schema import columns_for

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL_DIR = ROOT / "models" / "happy-neutral-sad"  # the default model


def _need(path: Path) -> Path:
    """A path from ../shared; under CI its absence is a failure, elsewhere a skip."""
    if not path.exists():
        msg = f"{path} is missing (the shared data sets must sit beside the checkout)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def run_cli(*args: str, timeout: float = 300, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run `python -m ...` from the project root, as a user would (or from `cwd`, this checkout's code still imported)."""
    if cwd != ROOT:  # relative paths as a user in another folder types them
        env = {"PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="surrogateescape",  # file names that are not UTF-8 come back as they were printed
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A user mistake: exit code != 0, an 'error:' line naming the thing, no traceback."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def face_like(size: int = 96, smile: bool = True, seed: int = 0) -> np.ndarray:
    """A synthetic gray 'face' (not for accuracy, only for plumbing tests)."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 120, np.uint8)
    c = size // 2
    cv2.ellipse(img, (c, c), (size // 3, size * 2 // 5), 0, 0, 360, 200, -1)
    cv2.circle(img, (c - size // 8, c - size // 10), size // 20, 40, -1)
    cv2.circle(img, (c + size // 8, c - size // 10), size // 20, 40, -1)
    start, end = (0, 180) if smile else (180, 360)
    cv2.ellipse(img, (c, c + size // 6), (size // 8, size // 16), 0, start, end, 40, 2)
    noise = rng.integers(-10, 10, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


def truncated_avi(src, dst, frames=90):
    """An MJPG .avi of `frames` frames cut in half: it opens, announces 90 frames, holds ~45."""
    cap = cv2.VideoCapture(str(src))
    writer = None
    for _ in range(frames):
        ok, image = cap.read()
        writer = writer or cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"MJPG"), 30, image.shape[1::-1])
        writer.write(image)
    writer.release()
    data = dst.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


CLASSES = ("happy", "sad")  # the classes of the generated mood logs
T0 = pd.Timestamp("2026-11-20T10:00:00+01:00")  # when they start


def write_log(path, segments, fps=10, start=T0, source="cam"):
    """segments: list of (seconds, label or None); one face (id 1) while a label is given."""
    rows, frame = [], 0
    for seconds, label in segments:
        for _ in range(int(seconds * fps)):
            ts = (start + pd.Timedelta(seconds=frame / fps)).isoformat(timespec="milliseconds")
            if label is None:
                rows.append([ts, source, frame, frame / fps] + [None] * 9)
            else:
                p = (0.9, 0.1) if label == "happy" else (0.2, 0.8)
                rows.append([ts, source, frame, frame / fps, 1, 10, 10, 50, 50, label, max(p), *p])
            frame += 1
    pd.DataFrame(rows, columns=columns_for(CLASSES)).to_csv(path, index=False)
    return path


def make_dodgy_files(folder):
    """The files users' picture folders really contain; returns {name: expected ok}."""
    folder.mkdir(parents=True, exist_ok=True)
    good = (np.arange(64 * 64).reshape(64, 64) % 251).astype(np.uint8)
    (folder / "text.jpg").write_text("this is not a picture")
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(good, cv2.COLOR_GRAY2BGR))
    (folder / "truncated.jpg").write_bytes(jpg.tobytes()[:200])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "vector.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="20"/></svg>'
    )
    cv2.imwrite(str(folder / "deep16.png"), (good.astype(np.uint16) * 257))
    Image.fromarray(np.dstack([good] * 3)).convert("CMYK").save(folder / "cmyk.jpg")
    cv2.imwrite(str(folder / "alpha.png"), np.dstack([good, good, good, np.full_like(good, 128)]))
    cv2.imwrite(str(folder / "tiny.png"), np.zeros((1, 1), np.uint8))
    (folder / "lying.png").write_bytes(jpg.tobytes())  # a JPEG with a .png name
    return {
        "text.jpg": False,
        "truncated.jpg": False,
        "empty.jpg": False,
        "vector.svg": False,
        "deep16.png": True,
        "cmyk.jpg": True,
        "alpha.png": True,
        "tiny.png": False,
        "lying.png": True,
    }




def write_labels(path, labels, classes=("happy", "neutral", "sad"), source="clip.mp4", fps=10, start=T0):
    """One face (id 1) a frame with these labels (None: no face) from a model with `classes`.

    A `source` with '{}' in it names one picture a row (its frame 0, a minute apart), as a photo run logs them.
    """
    rows = []
    for i, label in enumerate(labels):
        picture = "{}" in source
        ts = (start + pd.Timedelta(seconds=60 * i if picture else i / fps)).isoformat(timespec="milliseconds")
        head = [ts, source.format(i), 0 if picture else i, 0.0 if picture else i / fps]
        if label is None:
            rows.append(head + [None] * (7 + len(classes)))
        else:
            p = [0.8 if c == label else round(0.2 / (len(classes) - 1), 4) for c in classes]
            rows.append(head + [1, 10, 10, 50, 50, label, 0.8, *p])
    pd.DataFrame(rows, columns=columns_for(classes)).to_csv(path, index=False)
    return path


def make_classes(root, counts: dict[str, int], size: int = 48):
    """`counts[name]` generated faces in root/<name>/; no two classes share a picture (that would be left out as contradictory)."""
    for name, n in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        offset = 0 if name in ("happy", "sad") else zlib.crc32(name.encode())  # happy smiles, sad does not: others differ by seed
        for i in range(n):
            cv2.imwrite(str(root / name / f"{i:03d}.png"), face_like(size, smile=name == "happy", seed=offset + i))


# FER+'s vote columns (after file name and face box), named as FER-2013's class folders; then unknown and NF
FERPLUS_CLASSES = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
FERPLUS_SPLITS = {"train": "FER2013Train", "val": "FER2013Valid"}


def ferplus_faces(dst: Path, split: str, per_class: int, classes: tuple[str, ...] = ("happy", "sad")) -> Path:
    """Class folders dst/<class>/ of the first `per_class` FER+ pictures of `split` whose one most-voted class is each class.

    The same 48x48 faces as FER-2013's folders (FER+ relabelled them by ten votes each), copied.
    """
    src = _need(SHARED / "datasets" / "ferplus") / FERPLUS_SPLITS[split]
    picked: dict[str, list[str]] = {c: [] for c in classes}
    with (src / "label.csv").open(newline="") as f:
        for row in csv.reader(f):
            votes = [int(v) for v in row[2:12]]
            top = max(votes)
            name = FERPLUS_CLASSES[votes.index(top)] if votes.count(top) == 1 and votes.index(top) < len(FERPLUS_CLASSES) else None
            if name in picked and len(picked[name]) < per_class:
                picked[name].append(row[0])
    for name, files in picked.items():
        assert len(files) == per_class, f"FER+ {split} has only {len(files)} {name} faces"
        (dst / name).mkdir(parents=True)
        for file in files:
            shutil.copy(src / file, dst / name / file)
    return dst


def slice_of(src: Path, dst: Path, per_class: int) -> Path:
    """A small copy of a class-folder tree (the first files of each class)."""
    for class_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        (dst / class_dir.name).mkdir(parents=True)
        for f in sorted(class_dir.iterdir())[:per_class]:
            shutil.copy(f, dst / class_dir.name / f.name)
    return dst


def write_timed_video(path: Path, times: list[float], size: tuple[int, int] = (64, 48)) -> Path:
    """A video whose frames sit at exactly `times` (seconds; uneven for a variable frame rate), each a different gray.

    Written with PyAV and explicit pts, as a phone writes its recordings; the last frame lasts as
    long as the one before it.
    """
    from fractions import Fraction

    import av

    time_base = Fraction(1, 90000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.time_base = time_base
        stream.options = {"tune": "zerolatency"}  # no B-frames: packets in time order
        last = round((times[-1] - times[-2]) / time_base) if len(times) > 1 else 3000
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), (i * 37) % 256, np.uint8), format="bgr24")
            frame.pts, frame.time_base = round(t / time_base), time_base
            for packet in stream.encode(frame):
                packet.duration = last
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def video_times(path: Path) -> tuple[list[float], float]:
    """(each frame's time in seconds, the video's duration: the last frame's time plus how long it lasts), read with PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(f.pts, f.duration) for f in container.decode(stream)]
        tb = float(stream.time_base)
    return [p * tb for p, _ in frames], (frames[-1][0] + frames[-1][1]) * tb


@contextlib.contextmanager
def only_bundled_font():
    """Text drawn as on a fresh machine: only the font matplotlib ships (DejaVu Sans), no CJK font of this system."""
    from monitor.vision import text

    def forget():  # what was worked out with this system's fonts
        text.runs.cache_clear()
        text._rendered.cache_clear()

    system_fonts = text.fonts
    forget()
    text.fonts = lambda: (text.bundled_font(),)
    try:
        yield
    finally:
        text.fonts = system_fonts
        forget()
