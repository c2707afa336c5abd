"""train/data/scan.py and the layout, split and per-folder rules it applies: layouts, splits, bad files, clear errors for unusable folders."""

from __future__ import annotations

import hashlib

import cv2
import pytest

from monitor.core.crop import CropRule
from monitor.core.errors import UserError
from tests.helpers import face_like, make_classes, make_dodgy_files
from train.data.scan import scan


def tree_hash(root) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_class_folders_are_split_stratified_and_seeded(tmp_path):
    make_classes(tmp_path, {"happy": 40, "sad": 20, "neutral": 10})
    a = scan(tmp_path, "whole", seed=1)
    b = scan(tmp_path, "whole", seed=1)
    c = scan(tmp_path, "whole", seed=2)
    assert a.classes == ["happy", "neutral", "sad"]
    counts = a.counts()
    assert counts["val"] == {"happy": 6, "neutral": 2, "sad": 3}
    assert counts["test"] == {"happy": 6, "neutral": 2, "sad": 3}
    assert counts["train"] == {"happy": 28, "neutral": 6, "sad": 14}
    assert a.splits == b.splits and a.splits["val"] != c.splits["val"]
    paths = [{s.path for s in a.splits[k]} for k in ("train", "val", "test")]
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])


def test_split_layout_used_as_given_and_val_carved_when_missing(tmp_path):
    make_classes(tmp_path / "train", {"happy": 20, "sad": 20})
    make_classes(tmp_path / "test", {"happy": 3, "sad": 3})
    s = scan(tmp_path, "whole")
    assert s.layout == "split folders"
    assert s.counts()["test"] == {"happy": 3, "sad": 3}
    assert s.counts()["val"] == {"happy": 3, "sad": 3}  # 15 % of train/, per class
    assert len(s.splits["train"]) == 34


def test_several_folders_are_merged_by_class_and_classes_can_be_left_out(tmp_path):
    make_classes(tmp_path / "a" / "train", {"happy": 10, "sad": 10})
    make_classes(tmp_path / "a" / "val", {"happy": 2, "sad": 2})
    make_classes(tmp_path / "b" / "train", {"angry": 10, "happy": 5, "disgust": 3})
    make_classes(tmp_path / "b" / "val", {"angry": 2, "happy": 1, "disgust": 1})
    both = scan([tmp_path / "a", tmp_path / "b"], "whole")
    assert both.classes == ["angry", "disgust", "happy", "sad"]
    assert both.counts()["train"] == {"angry": 10, "disgust": 3, "happy": 15, "sad": 10}  # happy from both folders
    assert both.counts()["val"] == {"angry": 2, "disgust": 1, "happy": 3, "sad": 2}
    some = scan([tmp_path / "a", tmp_path / "b"], "whole", only_classes=["sad", "happy", "angry"])
    assert some.classes == ["angry", "happy", "sad"] and some.counts()["train"] == {"angry": 10, "happy": 15, "sad": 10}
    assert not any("disgust" in s.path for samples in some.splits.values() for s in samples)
    with pytest.raises(UserError, match="--classes: no folder for fear"):
        scan([tmp_path / "a"], "whole", only_classes=["happy", "fear"])
    make_classes(tmp_path / "c", {"happy": 20, "sad": 20})  # your own photos, in class folders, added to a split data set
    mixed = scan([tmp_path / "a", tmp_path / "c"], "whole", fractions=(0.15, 0.15))
    assert mixed.layout == "split folders + class folders" and set(mixed.splits) == {"train", "val"}  # no test/ beside: none made
    assert mixed.counts()["val"] == {"happy": 2 + 3, "sad": 2 + 3} and mixed.counts()["train"] == {"happy": 10 + 17, "sad": 10 + 17}
    make_classes(tmp_path / "d", {"calm": 4})  # one class per folder is fine when the folders together have two
    assert scan([tmp_path / "c", tmp_path / "d"], "whole").classes == ["calm", "happy", "sad"]


def test_bad_files_are_skipped_listed_and_never_touched(tmp_path):
    make_classes(tmp_path, {"happy": 6, "sad": 6})
    expected = make_dodgy_files(tmp_path / "sad")
    before = tree_hash(tmp_path)
    s = scan(tmp_path, "whole")
    skipped = {p.split("/")[-1] for p, _ in s.skipped}
    assert skipped == {n for n, ok in expected.items() if not ok}
    assert all(reason for _, reason in s.skipped)
    assert s.files == 12 + len(expected)
    assert tree_hash(tmp_path) == before


def test_auto_takes_small_crops_whole_and_detects_in_photos(tmp_path, web_dir):
    make_classes(tmp_path, {"happy": 4, "sad": 4})
    photo = sorted((web_dir / "happy").glob("*.jp*g"))[:5]
    for p in photo:
        (tmp_path / "happy" / p.name).write_bytes(p.read_bytes())
    s = scan(tmp_path, "auto", CropRule())
    samples = [x for v in s.splits.values() for x in v]
    whole = [x for x in samples if x.box is None]
    assert len(whole) == 8  # the 48x48 crops
    detected_files = {x.path for x in samples if x.box is not None}
    no_face = {p for p, _, _ in s.no_face}
    assert len(detected_files) + len(no_face) == 5  # every photo is either cut to faces or reported


@pytest.mark.parametrize(
    "layout, needle",
    [
        ({}, "need at least 2 class folders"),
        ({"happy": 3}, "need at least 2 class folders"),
        ({"happy": 3, "sad": 0}, "empty class folder"),
    ],
)
def test_unusable_folders_fail_clearly(tmp_path, layout, needle):
    for name in layout:
        (tmp_path / name).mkdir()
    make_classes(tmp_path, {k: v for k, v in layout.items() if v})
    with pytest.raises(UserError, match=needle):
        scan(tmp_path, "whole")


def test_no_decodable_image_fails_clearly(tmp_path):
    for name in ("happy", "sad"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.jpg").write_text("nope")
    with pytest.raises(UserError, match="no usable picture"):
        scan(tmp_path, "whole")


def test_missing_folder_fails_clearly(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        scan(tmp_path / "nothing")


def test_faces_mode_per_data_folder(tmp_path):

    from train.data.sources import face_modes

    assert face_modes("auto") == {"": "auto"} and face_modes("whole,wild=detect") == {"": "whole", "wild": "detect"}
    with pytest.raises(UserError, match="'sometimes' is not one of auto, detect, whole"):
        face_modes("wild=sometimes")
    for name in ("crops", "wild"):
        for label in ("happy", "sad"):
            (tmp_path / name / label).mkdir(parents=True)
            for i in range(3):
                cv2.imwrite(str(tmp_path / name / label / f"{i}.png"), face_like(96, smile=label == "happy", seed=i))
    s = scan([tmp_path / "crops", tmp_path / "wild"], "whole,wild=detect", fractions=(0.34, 0.0))
    samples = [x for xs in s.splits.values() for x in xs]
    assert all(x.box is None for x in samples if x.source == "crops")  # taken whole
    assert all(x.box is not None for x in samples if x.source == "wild")  # the detector's box, as the monitor crops
    assert all("/wild/" in path for path, _, _ in s.no_face) and len([x for x in samples if x.source == "wild"]) + len(s.no_face) >= 6


def test_the_same_picture_in_two_class_folders_is_left_out_with_one_warning(tmp_path):
    make_classes(tmp_path, {"happy": 8, "sad": 8})
    (tmp_path / "sad" / "dup_of_happy.png").write_bytes((tmp_path / "happy" / "003.png").read_bytes())
    (tmp_path / "happy" / "copy.png").write_bytes((tmp_path / "happy" / "005.png").read_bytes())  # a copy in its own class: kept
    s = scan(tmp_path, "whole")
    assert len(s.warnings) == 1
    assert str(tmp_path / "sad" / "dup_of_happy.png") in s.warnings[0] and str(tmp_path / "happy" / "003.png") in s.warnings[0]
    assert "keep each picture in one class folder" in s.warnings[0]
    used = {x.path for xs in s.splits.values() for x in xs}
    assert not {str(tmp_path / "sad" / "dup_of_happy.png"), str(tmp_path / "happy" / "003.png")} & used
    assert str(tmp_path / "happy" / "copy.png") in used
    assert {p for p, _ in s.skipped} == {str(tmp_path / "sad" / "dup_of_happy.png"), str(tmp_path / "happy" / "003.png")}


def test_class_names_no_font_has_are_warned_about_once_and_plotted_escaped(tmp_path):
    import warnings

    from tests.helpers import only_bundled_font
    from train.export import plot_confusion

    make_classes(tmp_path, {"café": 4, "грусть": 4, "悲しい": 4})
    with only_bundled_font():
        s = scan(tmp_path, "whole", fractions=(0.25, 0.0))
        assert s.warnings == [
            "class name 悲しい: letters the bundled font (DejaVu Sans) lacks; the overlay and plots show 悲しい as \\u60b2\\u3057\\u3044"
        ]
        metrics = {"confusion": {"labels": s.classes, "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "balanced_accuracy": 1.0}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert plot_confusion(metrics, tmp_path, "val (d)").stat().st_size > 0
    assert not [w for w in caught if "missing from font" in str(w.message)]


@pytest.mark.slow
def test_training_on_class_names_in_any_script_plots_them_and_warns_once(tmp_path):
    """Class folders café, грусть, 悲しい and a picture copied into a second class: the console has two warnings, no 'Glyph missing'."""
    import json

    from tests.helpers import run_cli

    names = ("café", "грусть", "悲しい")
    make_classes(tmp_path / "d", dict.fromkeys(names, 8))
    copy = tmp_path / "d" / "грусть" / "dup_of_café.png"
    copy.write_bytes((tmp_path / "d" / "café" / "002.png").read_bytes())
    proc = run_cli("train", str(tmp_path / "d"), "--out", str(tmp_path / "m"), "--epochs", "1", "--warmup-epochs", "0", "--widths", "8,16")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "m" / "confusion.png").stat().st_size > 0
    assert "missing from font" not in proc.stderr and "Glyph" not in proc.stderr, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, proc.stderr[-2000:]
    assert "class name 悲しい" in warnings[0] and "\\u60b2\\u3057\\u3044" in warnings[0]
    assert str(copy) in warnings[1] and str(tmp_path / "d" / "café" / "002.png") in warnings[1]
    assert json.loads((tmp_path / "m" / "metadata.json").read_text())["classes"] == sorted(names)
    assert str(copy) in (tmp_path / "m" / "bad_files.csv").read_text()
