"""Pictures as input: one photo or a folder, on the noisy web photos (several faces, drawings, SVGs, lying extensions)."""

from __future__ import annotations

import hashlib
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.helpers import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow
SIGNATURES = {b"\xff\xd8\xff": ".jpg", b"\x89PNG": ".png", b"RIFF": ".webp"}


def lies(path) -> bool:
    head = path.read_bytes()[:4]
    real = next((ext for sig, ext in SIGNATURES.items() if head.startswith(sig)), None)
    return real is not None and real != path.suffix.lower().replace(".jpeg", ".jpg")


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory, web_dir):
    """A slice of web-happy-sad: every SVG, every file whose extension lies, and plain photos."""
    root = tmp_path_factory.mktemp("photos") / "web"
    sad = sorted((web_dir / "sad").iterdir())
    picked = [p for p in sad if p.suffix == ".svg"] + [p for p in sad if lies(p)][:6] + sorted((web_dir / "happy").iterdir())[:12]
    for p in picked:
        sub = root / p.parent.name
        sub.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, sub / p.name)
    return root


def hashes(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_folder_of_photos(photo_dir, tmp_path):
    before = hashes(photo_dir)
    out, log = tmp_path / "annotated", tmp_path / "photos.csv"
    proc = run_cli("monitor", "--source", str(photo_dir), "--recursive", "--output", str(out), "--log", str(log), "--no-display")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert hashes(photo_dir) == before  # originals untouched
    files = [p for p in photo_dir.rglob("*") if p.is_file()]
    svgs = [p for p in files if p.suffix == ".svg"]
    df = pd.read_csv(log)
    pictures = df.source.nunique()
    assert pictures == len(files) - len(svgs)
    with_face = df.dropna(subset=["face_id"])
    no_face = df[df.face_id.isna()]
    assert len(with_face) >= 5 and with_face.groupby("source").size().max() >= 2  # several faces in a photo
    summary = proc.stderr.splitlines()
    line = next(s for s in summary if " pictures, " in s)
    assert line.startswith(f"{pictures} pictures, {len(with_face)} faces, {len(no_face)} without a face, {len(svgs)} skipped")
    for svg in svgs:
        assert f"skipped sad/{svg.name}: not a decodable image" in proc.stderr
    # every decodable picture has an annotated copy, in the mirrored folder
    for name in df.source.unique():
        assert (out / name).is_file(), name
    # timestamps are the files' modification times
    first = df.iloc[0]
    mtime = pd.Timestamp((photo_dir / first.source).stat().st_mtime, unit="s", tz="UTC")
    assert abs(pd.Timestamp(first.timestamp) - mtime) < pd.Timedelta(milliseconds=2)
    # one printed line per face or per picture without a face
    printed = [s for s in proc.stdout.splitlines() if ": face " in s or s.endswith(": no face found")]
    assert len(printed) == len(with_face) + len(no_face)


def test_single_photo_prints_faces_and_saves_annotated(tmp_path, videos_dir):
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    for _ in range(40):
        ok, frame = cap.read()
    photo = tmp_path / "me.png"
    # 16-bit PNG with alpha, stored sideways with an EXIF-free rotation: still one face
    cv2.imwrite(str(photo), np.dstack([frame.astype(np.uint16) * 257, np.full(frame.shape[:2], 65535, np.uint16)]))
    out = tmp_path / "labelled.jpg"
    proc = run_cli("monitor", "--source", str(photo), "--output", str(out), "--log", str(tmp_path / "l.csv"), "--no-display")
    assert proc.returncode == 0, proc.stderr
    lines = [s for s in proc.stdout.splitlines() if ": face " in s]
    assert len(lines) == 1 and "happy=" in lines[0] and "sad=" in lines[0] and "w=" in lines[0]
    annotated = cv2.imread(str(out))
    assert annotated.shape == frame.shape and not np.array_equal(annotated, frame)


def test_exif_rotated_phone_photo_is_upright(tmp_path, videos_dir):
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    ok, frame = cap.read()
    sideways = cv2.rotate(frame, cv2.ROTATE_90_COUNTERCLOCKWISE)  # how the sensor stored it
    im = Image.fromarray(cv2.cvtColor(sideways, cv2.COLOR_BGR2RGB))
    exif = im.getexif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    im.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    proc = run_cli("monitor", "--source", str(tmp_path / "phone.jpg"), "--log", str(tmp_path / "l.csv"), "--no-display")
    assert proc.returncode == 0, proc.stderr
    assert sum(": face " in s for s in proc.stdout.splitlines()) == 1  # Haar finds only upright faces


def test_output_folder_cannot_be_the_source(photo_dir):
    proc = run_cli("monitor", "--source", str(photo_dir), "--output", str(photo_dir), "--no-display")
    assert_one_line_error(proc, "originals")


def test_single_non_picture_is_an_error(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("not a picture")
    proc = run_cli("monitor", "--source", str(bad), "--no-display", "--log", str(tmp_path / "l.csv"))
    assert_one_line_error(proc, "x.png")


def test_photo_output_mistakes_are_one_line_errors(tmp_path, videos_dir):
    picture = tmp_path / "face.jpg"
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    cv2.imwrite(str(picture), cap.read()[1])
    cap.release()
    base = ["--source", str(picture), "--no-display", "--log", str(tmp_path / "l.csv")]
    assert_one_line_error(run_cli("monitor", *base, "--output", str(tmp_path / "labelled")), "not a picture file name")
    assert_one_line_error(run_cli("monitor", *base, "--output", "/proc/nope/x.jpg"), "x.jpg")
    assert_one_line_error(run_cli("monitor", *base, "--output", str(picture)), "is the input")
    folder = tmp_path / "out"
    folder.mkdir()
    proc = run_cli("monitor", *base, "--output", str(folder))  # an existing folder: the copy goes inside, same name
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(folder / "face.jpg")) is not None
    (tmp_path / "pics").mkdir()
    shutil.copy(picture, tmp_path / "pics" / "a.jpg")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    proc = run_cli(
        "monitor", "--source", str(tmp_path / "pics"), "--output", str(blocker), "--no-display", "--log", str(tmp_path / "l.csv")
    )
    assert_one_line_error(proc, "file.txt", "must be a folder")


def test_picture_names_that_are_not_utf8(tmp_path, videos_dir):
    import os

    pics = tmp_path / "pics"
    pics.mkdir()
    name = os.fsdecode(os.fsencode(pics) + b"/ph\xf6to.jpg")
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    ok, data = cv2.imencode(".jpg", cap.read()[1])
    cap.release()
    with open(name, "wb") as f:
        f.write(data.tobytes())
    out = tmp_path / "out"
    proc = run_cli("monitor", "--source", str(pics), "--output", str(out), "--no-display", "--log", str(tmp_path / "l.csv"))
    assert proc.returncode == 0, proc.stderr
    written = os.listdir(os.fsencode(out))
    assert written == [b"ph\xf6to.jpg"] and ": face 1" in proc.stdout


def test_tight_face_crop_is_found_by_the_thorough_search(videos_dir):
    """A photo cropped tight around the face (as in muxspace-photos): one Haar pass misses it, the search does not."""
    from monitor.vision.detect import DetectorSettings, HaarDetector, PictureSearch

    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    gray = cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2GRAY)
    cap.release()
    (box,) = HaarDetector().detect(gray)
    tight = gray[box.y : box.y + box.h - box.h // 16, box.x + box.w // 8 : box.x + box.w - box.w // 8]  # the box, cut further
    assert HaarDetector(DetectorSettings(min_face=24)).detect(tight) == []
    search = PictureSearch()
    (found,) = search.detect(tight)
    assert search.last_step == "padded" and found.w > tight.shape[1] and found.x < 0  # the face reaches past the picture
    assert search.detect(np.full((200, 200), 128, np.uint8)) == [] and search.last_step is None


def test_a_photo_larger_than_the_screen_is_shown_fitted():
    from monitor.apps.photos import fit_to_screen

    big = np.zeros((3000, 4000, 3), np.uint8)
    shown = fit_to_screen(big, screen=(1920, 1080))
    assert shown.shape[1] <= 1920 * 0.9 and shown.shape[0] <= 1080 * 0.9
    assert abs(shown.shape[1] / shown.shape[0] - 4000 / 3000) < 0.01  # not stretched
    small = np.zeros((300, 400, 3), np.uint8)
    assert fit_to_screen(small, screen=(1920, 1080)) is small  # never enlarged
