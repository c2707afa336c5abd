"""Pictures labelled by votes (label.csv, FER+'s layout and the general form): majority, vote targets, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.core.errors import UserError
from tests.helpers import SHARED, _need, assert_one_line_error, face_like, run_cli
from train.data.layout import VOTE_SPLITS, VOTES, detect_layout
from train.data.pipeline import tf_dataset
from train.data.scan import scan
from train.data.votes import read_votes

# FER+ columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
FERPLUS_ROWS = {
    "a.png": [8, 2, 0, 0, 0, 0, 0, 0, 0, 0],  # neutral
    "b.png": [1, 9, 0, 0, 0, 0, 0, 0, 0, 0],  # happy
    "c.png": [3, 0, 0, 7, 0, 0, 0, 0, 0, 0],  # sad
    "d.png": [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],  # tie: dropped
    "e.png": [1, 0, 0, 0, 0, 0, 0, 0, 9, 0],  # unknown: dropped
    "f.png": [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # not a face: dropped
    "g.png": [0, 0, 6, 0, 0, 0, 0, 4, 0, 0],  # surprise
    "h.png": [2, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # neutral (few votes still count)
}


def write_ferplus(folder, rows=FERPLUS_ROWS):
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (name, votes) in enumerate(rows.items()):
        cv2.imwrite(str(folder / name), face_like(48, seed=i))
        lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
    (folder / "label.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_ferplus_layout_majority_drops_ties_unknown_and_not_a_face(tmp_path):
    write_ferplus(tmp_path / "FER2013Train")
    write_ferplus(tmp_path / "FER2013Valid")
    layout, classes = detect_layout(tmp_path)
    assert layout == VOTE_SPLITS
    assert classes == ["angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    s = scan(tmp_path, "whole", labels="majority", only_classes=["happy", "neutral", "sad", "surprise"])
    assert set(s.splits) == {"train", "val"}
    by_name = {p.split("/")[-1]: s.classes[label] for p, label in ((x.path, x.label) for x in s.splits["train"])}
    assert by_name == {"a.png": "neutral", "b.png": "happy", "c.png": "sad", "g.png": "surprise", "h.png": "neutral"}
    assert all(x.target is None for x in s.splits["train"])  # majority mode: one-hot targets
    assert s.dropped == {"no majority (tie, unknown or not a face, or no votes)": 6}  # 3 in each split


def test_classes_keep_some_and_votes_become_distributions(tmp_path):
    write_ferplus(tmp_path / "FER2013Train")
    write_ferplus(tmp_path / "FER2013Valid")
    s = scan(tmp_path, "whole", only_classes=["happy", "neutral", "sad"], labels="votes")
    assert s.classes == ["happy", "neutral", "sad"]
    targets = {x.path.split("/")[-1]: x.target for x in s.splits["train"]}
    assert set(targets) == {"a.png", "b.png", "c.png", "h.png"}  # g (surprise) is not among the classes
    assert targets["a.png"] == pytest.approx((0.2, 0.8, 0.0))
    assert targets["b.png"] == pytest.approx((0.9, 0.1, 0.0))
    assert targets["c.png"] == pytest.approx((0.0, 0.3, 0.7))
    assert s.dropped["majority not among the classes"] == 2  # g.png, in each split
    ds = tf_dataset(s.splits["train"], 3, __import__("monitor.core.crop", fromlist=["CropRule"]).CropRule(), 8, shuffle=False)
    _, y = next(iter(ds))
    np.testing.assert_allclose(np.sort(y.numpy().sum(axis=1)), np.ones(4), atol=1e-6)  # distributions, not one-hot
    assert (np.asarray(y) > 0).sum() > 4


def test_general_form_with_header_and_probabilities_is_split_by_the_command(tmp_path):
    rows = ["file,calm,joy"]
    for i in range(20):
        cv2.imwrite(str(tmp_path / f"{i}.png"), face_like(48, seed=i))
        p = 0.8 if i % 2 else 0.3
        rows.append(f"{i}.png,{p},{1 - p:.1f}")
    (tmp_path / "label.csv").write_text("\n".join(rows) + "\n")
    assert detect_layout(tmp_path) == (VOTES, ["calm", "joy"])
    s = scan(tmp_path, "whole", labels="votes", fractions=(0.2, 0.2))
    assert {k: sum(v.values()) for k, v in s.counts().items()} == {"train": 12, "val": 4, "test": 4}
    assert all(x.target is not None and abs(sum(x.target) - 1) < 1e-9 for x in s.splits["train"])
    assert all(x.label == int(np.argmax(x.target)) for x in s.splits["train"])


@pytest.mark.parametrize(
    "line, needle",
    [
        ('z.png,"(0, 0, 48, 48)",1,2,3,0,0,0,0,0,0,0', "'z.png' is not in"),
        ('a.png,"(0, 0, 48, 48)",1,2,3', "columns where 12 are expected"),
        ('a.png,"(0, 0, 48, 48)",1,-2,3,0,0,0,0,0,0,0', "negative"),
        ('a.png,"(0, 0, 48, 48)",1,two,3,0,0,0,0,0,0,0', "'two' is not a number"),
    ],
)
def test_malformed_label_csv_is_one_line_error_naming_file_and_line(tmp_path, line, needle):
    folder = write_ferplus(tmp_path / "FER2013Train")
    with open(folder / "label.csv", "a") as f:
        f.write(line + "\n")
    with pytest.raises(UserError) as err:
        read_votes(folder)
    assert f"label.csv line {len(FERPLUS_ROWS) + 1}" in str(err.value) and needle in str(err.value)
    proc = run_cli("train", str(tmp_path), "--out", str(tmp_path / "out"), timeout=120)
    assert_one_line_error(proc, "label.csv line", needle)


def _write_vote_splits(root: Path, rows: dict[str, list[int]]) -> None:
    """FER+'s layout: the same face-like pictures and vote rows in FER2013Train and FER2013Valid."""
    for split in ("FER2013Train", "FER2013Valid"):
        folder = root / split
        folder.mkdir(parents=True)
        for i, name in enumerate(rows):
            cv2.imwrite(str(folder / name), face_like(48, smile=name.startswith("h"), seed=i))
        (folder / "label.csv").write_text("\n".join(f'{n},"(0, 0, 48, 48)",' + ",".join(map(str, v)) for n, v in rows.items()) + "\n")


@pytest.mark.slow
def test_training_on_votes_and_evaluation_by_majority(tmp_path):
    rows = {}
    for i in range(16):  # soft votes; surprise faces are left out by --classes
        rows[f"h{i}.png"] = [2, 8, 0, 0, 0, 0, 0, 0, 0, 0]
        rows[f"n{i}.png"] = [7, 1, 0, 2, 0, 0, 0, 0, 0, 0]
        rows[f"s{i}.png"] = [3, 0, 0, 7, 0, 0, 0, 0, 0, 0]
        rows[f"u{i}.png"] = [3, 0, 7, 0, 0, 0, 0, 0, 0, 0]
    _write_vote_splits(tmp_path / "data", rows)
    out = tmp_path / "model"
    proc = run_cli("train", str(tmp_path / "data"), "--classes", "happy,neutral,sad", "--out", str(out), "--epochs", "1", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["classes"] == ["happy", "neutral", "sad"] and meta["data"]["labels"] == "votes"
    assert meta["data"]["counts"]["val"] == {"happy": 16, "neutral": 16, "sad": 16}
    assert meta["data"]["dropped"] == {"majority not among the classes": 32}  # 16 surprise faces in each split
    ev = run_cli("train", "evaluate", str(tmp_path / "data"), "--classes", "happy,neutral,sad", "--model", str(out), "--json", timeout=300)
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout)
    assert m["split"] == "val" and m["images"] == 48  # scored against the majority label of FER2013Valid
    assert [m["per_class"][c]["support"] for c in ("happy", "neutral", "sad")] == [16, 16, 16]


def test_shared_ferplus_reads_as_eight_classes():
    root = _need(SHARED / "datasets" / "ferplus")
    table = read_votes(root / "FER2013Valid")
    assert len(table.rows) == 3579
    s = scan(root, "whole", only_split="val", only_classes=["happy", "neutral", "sad"])
    assert s.counts()["val"] == {"happy": 877, "neutral": 1241, "sad": 396}


def _vote_and_class_folders(root: Path) -> tuple[Path, Path]:
    """FER+-like vote splits (happy, neutral, sad, surprise votes) and a class-folder set of happy and sad only."""
    rows = {f"h{i}.png": [2, 8, 0, 0, 0, 0, 0, 0, 0, 0] for i in range(6)} | {f"n{i}.png": [7, 1, 0, 2, 0, 0, 0, 0, 0, 0] for i in range(6)}
    _write_vote_splits(root / "votes", rows)
    for j, name in enumerate(("happy", "sad")):
        (root / "wild" / name).mkdir(parents=True)
        for i in range(20):
            cv2.imwrite(str(root / "wild" / name / f"{i}.png"), face_like(96, smile=name == "happy", seed=100 * j + i))
    return root / "votes", root / "wild"


def test_votes_and_class_folders_train_together(tmp_path):
    votes, wild = _vote_and_class_folders(tmp_path)
    s = scan([votes, wild], "whole", seed=1, fractions=(0.15, 0.15), only_classes=["happy", "neutral", "sad"], labels="votes")
    assert s.layout == "vote labels + class folders" and s.classes == ["happy", "neutral", "sad"]
    # FER+'s own splits kept (no test of its own); the class folders split stratified: 20 -> 14 / 3 / 3 per class
    assert s.source_counts() == {"votes": {"train": 12, "val": 12}, "wild": {"train": 28, "val": 6, "test": 6}}
    assert s.counts()["test"] == {"happy": 3, "neutral": 0, "sad": 3}
    by_name = {Path(x.path).name: x for x in s.splits["train"] if x.source == "wild"}
    sad = next(x for n, x in by_name.items() if x.label == 2)
    assert sad.target is None  # a class-folder picture is one vote for its class (one-hot in tf_dataset)
    voted = next(x for x in s.splits["train"] if x.source == "votes" and Path(x.path).name == "n0.png")
    assert voted.label == 1 and voted.target == pytest.approx((0.1, 0.7, 0.2))
    ds = tf_dataset(s.splits["train"], 3, __import__("monitor.core.crop", fromlist=["CropRule"]).CropRule(), 64, shuffle=False)
    _, y = next(iter(ds))
    assert np.allclose(y.numpy().sum(axis=1), 1) and {tuple(r) for r in y.numpy().astype(float).round(3)} >= {(0.0, 0.0, 1.0), (0.1, 0.7, 0.2)}
    again = scan([votes, wild], "whole", seed=1, fractions=(0.15, 0.15), only_classes=["happy", "neutral", "sad"])
    assert [x.path for x in again.splits["test"]] == [x.path for x in s.splits["test"]]  # seeded
    assert {x.path for x in s.of_source("wild").splits["val"]} == {x.path for x in s.splits["val"] if x.source == "wild"}


def test_label_smoothing_per_data_folder_softens_each_target_by_its_own_epsilon(tmp_path):
    """'0.1,wild=0.4': a class-folder picture's one vote becomes 0.6 + 0.4/3; vote shares get 0.1 (the loss adds none)."""
    from monitor.core.crop import CropRule
    from train.data.sources import smoothing_by_source

    votes, wild = _vote_and_class_folders(tmp_path)
    s = scan([votes, wild], "whole", seed=1, fractions=(0.15, 0.15), only_classes=["happy", "neutral", "sad"], labels="votes")
    eps = smoothing_by_source("0.1,wild=0.4")
    assert eps == {"": 0.1, "wild": 0.4} and smoothing_by_source("0.2") == {"": 0.2}
    ds = tf_dataset(s.splits["train"], 3, CropRule(), 64, shuffle=False, smoothing=eps)
    _, y = next(iter(ds))
    rows = {tuple(r) for r in y.numpy().astype(float).round(4)}
    sad, neutral = (0.1333, 0.1333, 0.7333), tuple(round(0.9 * v + 0.1 / 3, 4) for v in (0.1, 0.7, 0.2))
    assert sad in rows and neutral in rows and (0.0, 0.0, 1.0) not in rows
    assert np.allclose(y.numpy().sum(axis=1), 1)
    for bad in ("1.5", "wild=x", "-0.1"):
        with pytest.raises(UserError, match="--label-smoothing"):
            smoothing_by_source(bad)


def test_source_weights_repeat_each_data_folders_training_faces(tmp_path):
    """'wild=2.5': every wild face twice and a seeded half of them once more; votes' faces once; bad weights refused."""
    from train.data.sources import reweighted, weights_by_source

    votes, wild = _vote_and_class_folders(tmp_path)
    train = scan([votes, wild], "whole", seed=1, fractions=(0.15, 0.15), only_classes=["happy", "neutral", "sad"], labels="votes").splits["train"]
    w = weights_by_source("wild=2.5")
    assert w == {"": 1.0, "wild": 2.5}
    shown = reweighted(train, w, seed=3)
    wild_paths = [x.path for x in train if x.source == "wild"]
    counts = {p: sum(x.path == p for x in shown) for p in wild_paths}
    assert len(wild_paths) == 28 and sorted(set(counts.values())) == [2, 3] and sum(counts.values()) == 28 * 2 + 14
    assert [x.path for x in shown if x.source == "votes"] == [x.path for x in train if x.source == "votes"]
    assert [x.path for x in reweighted(train, w, seed=3)] == [x.path for x in shown]  # seeded: a resumed run sees the same faces
    half = reweighted(train, weights_by_source("votes=0.5"), seed=0)
    assert sum(x.source == "votes" for x in half) == 6 and sum(x.source == "wild" for x in half) == 28
    for bad in ("wild=0", "wild=11", "wild=x", "2"):
        with pytest.raises(UserError, match="--source-weights"):
            weights_by_source(bad)


@pytest.mark.slow
def test_the_operating_point_is_fitted_on_the_val_pictures_of_the_named_sources_together(tmp_path):
    """--fit-class-bias votes,wild pools both folders' val pictures (12 + 6 here); a name that is no data folder is refused."""
    votes, wild = _vote_and_class_folders(tmp_path)
    common = ["train", str(votes), str(wild), "--classes", "happy,neutral,sad", "--faces", "whole", "--seed", "1"]
    bad = run_cli(*common, "--out", str(tmp_path / "bad"), "--fit-class-bias", "votes,tame")
    assert_one_line_error(bad, "--fit-class-bias votes,tame", "tame is not one of this run's data folders")
    bad = run_cli(*common, "--out", str(tmp_path / "bad"), "--label-smoothing", "0.1,tame=0.3")
    assert_one_line_error(bad, "--label-smoothing 0.1,tame=0.3", "tame is not one of this run's data folders")
    bad = run_cli(*common, "--out", str(tmp_path / "bad"), "--source-weights", "tame=2")
    assert_one_line_error(bad, "--source-weights tame=2", "tame is not one of this run's data folders")
    out = tmp_path / "model"
    proc = run_cli(*common, "--out", str(out), "--epochs", "1", "--fit-class-bias", "votes,wild", "--source-weights", "wild=2", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "metadata.json").read_text())
    assert "training faces shown an epoch: votes 12, wild 56" in proc.stdout and meta["training"]["source_weights"] == {"wild": 2.0}
    point = meta["operating_point"]
    assert point["fitted_on"] == "val of votes,wild" and point["pictures"] == 12 + 6
    assert point["after"] >= point["balanced_accuracy_before"]
    assert "operating point fitted on 18 val pictures of votes,wild" in proc.stdout


def test_a_class_a_vote_table_lacks_has_no_votes_there(tmp_path):
    for name, header in (("a", "file,happy,sad"), ("b", "file,happy,neutral")):
        (tmp_path / name).mkdir()
        lines = [header]
        for i in range(8):
            cv2.imwrite(str(tmp_path / name / f"{i}.png"), face_like(48, smile=i % 2 == 0, seed=i))
            lines.append(f"{i}.png,{3 if i % 2 == 0 else 1},{1 if i % 2 == 0 else 3}")
        (tmp_path / name / "label.csv").write_text("\n".join(lines) + "\n")
    s = scan([tmp_path / "a", tmp_path / "b"], "whole", fractions=(0.25, 0.25))
    assert s.classes == ["happy", "neutral", "sad"]
    targets = {(Path(x.path).parent.name, x.label): x.target for split in s.splits.values() for x in split}
    assert targets[("a", 2)] == pytest.approx((0.25, 0.0, 0.75)) and targets[("b", 1)] == pytest.approx((0.25, 0.75, 0.0))


def _general_folder(folder, rows: list[str], header: str = "file,happy,sad", pictures: int = 8, bom: bool = False):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(pictures):
        cv2.imwrite(str(folder / f"{i}.png"), face_like(48, smile=i % 2 == 0, seed=i))
    (folder / "label.csv").write_text(("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


def test_duplicates_leaks_and_outside_pictures_are_errors(tmp_path):
    rows = [f"{i}.png,{3 if i % 2 == 0 else 1},{1 if i % 2 == 0 else 3}" for i in range(8)]
    twice = _general_folder(tmp_path / "twice", [*rows, "3.png,3,1"])
    with pytest.raises(UserError, match=r"line 10: picture '3.png' is listed again \(first on line 5\)"):
        read_votes(twice)
    outside = _general_folder(tmp_path / "outside", [*rows, "../twice/0.png,1,1"])
    with pytest.raises(UserError, match="lies outside"):
        read_votes(outside)
    good = _general_folder(tmp_path / "good", rows)
    with pytest.raises(UserError, match="given twice"):
        scan([good, tmp_path / "good" / "."], "whole")
    # one picture reached by two paths is one sample, and never in two splits
    (tmp_path / "cls" / "happy").mkdir(parents=True)
    (tmp_path / "cls" / "sad").mkdir()
    for i in range(6):
        for name in ("happy", "sad"):
            cv2.imwrite(str(tmp_path / "cls" / name / f"{i}.png"), face_like(48, smile=name == "happy", seed=i))
    (tmp_path / "cls" / "happy" / "again.png").symlink_to(tmp_path / "cls" / "happy" / "0.png")
    with pytest.raises(UserError, match="in both the"):
        for seed in range(20):  # the link lands in another split than its picture for some seed
            scan(tmp_path / "cls", "whole", seed=seed, fractions=(0.3, 0.3))


def test_spreadsheet_bom_case_rule_unlisted_pictures_and_all_left_out(tmp_path):
    rows = [f"{i}.png,{3 if i % 2 == 0 else 1},{1 if i % 2 == 0 else 3}" for i in range(4)]
    bom = _general_folder(tmp_path / "bom", rows, bom=True)
    table = read_votes(bom)
    assert table.classes == ("happy", "sad") and table.unlisted == 4  # 8 pictures, 4 rows
    s = scan(bom, "whole", fractions=(0.25, 0.25))
    assert s.dropped == {"in bom/ but not listed in its label.csv": 4}
    with pytest.raises(UserError, match="'Happy' and 'happy' differ only in case"):
        read_votes(_general_folder(tmp_path / "case", ["0.png,1,2,3"], header="file,Happy,sad,happy"))
    none = _general_folder(tmp_path / "none", [f"{i}.png,0,0" for i in range(8)])
    with pytest.raises(UserError, match=r"every picture of label.csv was left out \(8 no majority \(tie, unknown or not a face, or no votes\)\)"):
        scan(none, "whole")
    with pytest.raises(UserError, match="no class in label.csv's header for happy"):
        scan(_general_folder(tmp_path / "words", ["0.png,1,2,3"], header="file,joy,calm,gloom"), "whole", only_classes=["happy", "sad"])
    with pytest.raises(UserError, match=r"label.csv names only 'happy' as classes; give at least 2 class columns"):
        scan(_general_folder(tmp_path / "one", ["0.png,1,2"], header="file,happy,unknown"), "whole")
    with pytest.raises(UserError, match=r"'4000000000000000'\.\.\. \(401 characters\) is too large"):
        read_votes(_general_folder(tmp_path / "huge", ["0.png,4" + "0" * 400 + ",1"]))
