"""Decoding pictures by content: every odd format becomes 2-D uint8 gray, junk is rejected with a reason."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from monitor.io.pictures import ImageError, read_gray
from tests.helpers import make_dodgy_files


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
