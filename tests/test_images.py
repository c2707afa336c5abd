"""Decoding pictures by content: every odd format becomes 2-D uint8 gray, junk is rejected with a reason."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from monitor.io.pictures import ImageError, read_gray


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


def test_dodgy_files_are_decoded_or_rejected_with_reason(tmp_path):
    expected = make_dodgy_files(tmp_path)
    for name, ok in expected.items():
        if ok:
            gray = read_gray(tmp_path / name)
            assert gray.dtype == np.uint8 and gray.ndim == 2 and gray.shape == (64, 64), name
        else:
            with pytest.raises(ImageError) as err:
                read_gray(tmp_path / name)
            assert str(err.value), name


def test_16_bit_values_are_scaled_not_clipped(tmp_path):
    img = np.full((32, 32), 65535, np.uint16)
    img[:16] = 0
    cv2.imwrite(str(tmp_path / "a.png"), img)
    gray = read_gray(tmp_path / "a.png")
    assert gray[0, 0] == 0 and gray[-1, -1] == 255


def test_exif_rotation_is_applied(tmp_path):
    wide = np.zeros((40, 80, 3), np.uint8)  # stored 80 wide, 40 high
    im = Image.fromarray(wide)
    exif = im.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    im.save(tmp_path / "phone.jpg", exif=exif)
    assert read_gray(tmp_path / "phone.jpg").shape == (80, 40)
