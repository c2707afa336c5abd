"""The crop rule and the Haar detector."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from monitor.core.crop import CropRule
from monitor.core.types import Box
from monitor.io.pictures import read_gray
from monitor.vision.detect import HaarDetector, PictureSearch
from tests.helpers import SHARED, _need


def first_gray(videos_dir) -> np.ndarray:
    """The first frame of the single-face clip, in gray: a webcam-like close-up face."""
    cap = cv2.VideoCapture(str(videos_dir / "single_face.mp4"))
    ok, frame = cap.read()
    cap.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def test_crop_adds_margin_and_resizes():
    img = np.zeros((200, 200), np.uint8)
    img[50:150, 50:150] = 255  # the "face" box
    rule = CropRule(size=48, margin=0.25)
    crop = rule.crop(img, Box(50, 50, 100, 100))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    # 100 px box + 25 % each side = 150 px; the box covers the central 100/150 of the crop
    inner = 48 * 25 // 150
    assert crop[inner + 2, 24] == 255 and crop[1, 24] == 0 and crop[24, 1] == 0


def test_crop_pads_faces_at_the_frame_edge():
    img = np.full((100, 100), 90, np.uint8)
    crop = CropRule(size=32).crop(img, Box(-10, -10, 60, 60))
    assert crop.shape == (32, 32)
    assert (crop == 90).all()  # replicated border, not black


def test_whole_takes_centre_square():
    img = np.zeros((60, 120), np.uint8)
    img[:, 30:90] = 200
    crop = CropRule(size=30).whole(img)
    assert crop.shape == (30, 30) and (crop == 200).all()


def test_iou():
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(20, 20, 5, 5)) == 0.0
    assert abs(a.iou(Box(5, 0, 10, 10)) - 50 / 150) < 1e-9


def test_detector_finds_real_faces_close_and_small(web_dir, videos_dir):
    det = HaarDetector()
    gray = first_gray(videos_dir)
    boxes = det.detect(gray)
    assert len(boxes) == 1 and boxes[0].w > 100  # a close-up face
    # the same face shrunk into a 4x larger canvas (a face far away in a room) is still found
    small = cv2.resize(gray, None, fx=0.5, fy=0.5)
    room = np.full((gray.shape[0] * 2, gray.shape[1] * 2), 128, np.uint8)
    room[100 : 100 + small.shape[0], 300 : 300 + small.shape[1]] = small
    found = det.detect(room)
    assert len(found) == 1 and 300 <= found[0].x < 300 + small.shape[1]


def test_detector_boxes_are_in_full_resolution(videos_dir):
    det = HaarDetector()
    gray = first_gray(videos_dir)
    big = cv2.resize(gray, None, fx=3, fy=3)  # 1920x1080: scanned downscaled, mapped back
    (b1,), (b3,) = det.detect(gray), det.detect(big)
    assert abs(b3.x - 3 * b1.x) < 20 and abs(b3.w - 3 * b1.w) < 30


def test_read_gray_on_web_photo(web_dir):
    files = sorted(p for p in (web_dir / "happy").iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    assert read_gray(files[0]).ndim == 2


def test_detect_near_refinds_a_moved_face_cheaply(videos_dir):
    det = HaarDetector()
    gray = first_gray(videos_dir)
    (box,) = det.detect(gray)
    shifted = np.roll(gray, 25, axis=1)  # the face moved 25 px to the right
    (again,) = det.detect_near(shifted, [box])
    assert abs(again.x - (box.x + 25)) < 15 and abs(again.w - box.w) < 0.3 * box.w
    assert det.detect_near(np.full_like(gray, 128), [box]) == []  # face gone: not invented


def test_refind_frames_a_face_like_a_full_scan(videos_dir):
    """Same image scale, scale factor and window ladder: a re-found box is the full scan's box within its own jitter."""
    det = HaarDetector()
    cap = cv2.VideoCapture(str(videos_dir / "sad_seated_far.mp4"))
    diffs = []
    for _ in range(40):
        gray = cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2GRAY)
        full = det.detect(gray)[0]  # the largest face
        (near,) = det.detect_near(gray, [full])
        diffs.append(abs(near.w - full.w) / full.w + abs(near.x - full.x) / full.w)
    cap.release()
    assert np.mean(diffs) < 0.03 and max(diffs) < 0.06


# One-person portraits where the picture search used to give a second face: a chin or cheek inside
# the face (plain scan), the chin below it (padded), a patch across it, a smaller one beside it (rotated).
PORTRAITS = (
    "neutral/Colin_Powell_0059.jpg",
    "anger/Dileep_33.jpg",
    "happy/Lou_Piniella_0001.jpg",
    "neutral/Johnny_Tapia_0003.jpg",
    "neutral/HrithikRoshan_10.jpg",
)


@pytest.mark.parametrize("name", PORTRAITS)
def test_picture_search_gives_a_portrait_one_face(name):
    folder = _need(SHARED / "datasets" / "muxspace-photos")
    assert len(PictureSearch().detect(read_gray(folder / name))) == 1


def test_picture_search_keeps_the_faces_of_a_group(videos_dir):
    """Pedestrians in a street (5 faces): those facing the camera pass the second-face test; one looking down does not."""
    cap = cv2.VideoCapture(str(videos_dir / "street_multi_face.mp4"))
    gray = cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2GRAY)
    cap.release()
    search = PictureSearch()
    found = search.detect(gray)
    assert len(found) >= 4 and set(found) <= set(search.default.detect(gray))
