"""train/finish.py: calibration of a new run, and `python -m train export` (mirror averaging, operating point)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.helpers import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow



def test_training_calibrates_and_both_backends_apply_the_temperature(trained):
    from monitor.io.pictures import read_gray
    from monitor.vision.classify import load_classifier
    from train.calibrate import scaled
    from train.model import base_network

    root, out, proc, _ = trained
    meta = json.loads((out / "metadata.json").read_text())
    c = meta["calibration"]
    assert c["method"] == "temperature" and c["temperature"] > 0 and c["fitted_on"] == 80 and c["bins"] == 15
    assert c["nll_after"] <= c["nll_before"] + 1e-9  # fitted to minimise it
    assert (out / "reliability.png").stat().st_size > 5000 and "ECE on val" in proc.stdout
    faces = np.stack([read_gray(p) for p in sorted((root / "data" / "val" / "sad").iterdir())]).astype("float32")[..., None]
    base = base_network(load_keras_model(out / "model.keras"))
    expected = scaled(base(faces, training=False).numpy(), c["temperature"])
    for backend in ("model.keras", "model.tflite"):
        got = load_classifier(out / backend).probabilities(faces[..., 0].astype(np.uint8))
        np.testing.assert_allclose(got, expected, atol=2e-4)


def load_keras_model(path):
    import keras

    return keras.saving.load_model(path, compile=False)


def test_export_flip_average(trained, tmp_path):
    """`train export --flip-average` rewrites both model files; the result is the mean over the mirrored face."""
    from monitor.vision.classify import load_classifier
    from train.calibrate import scaled

    _, out, _, _ = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    meta_before = json.loads((run / "metadata.json").read_text())
    # the recorded data folder is absolute here (tmp), so the command works from the project root
    proc = run_cli("train", "export", str(run), "--flip-average")
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["flip_average"] is True and meta["export_command"] == f"python -m train export {run} --flip-average"
    assert meta["metrics_before_export"] == meta_before["metrics"]
    crops = np.random.default_rng(0).integers(0, 255, (6, 48, 48)).astype(np.uint8)
    plain = load_classifier(out / "model.tflite")
    # both files have a temperature built in, and the mirrored model's is fitted anew: compare on the network's own
    # probabilities (the old temperature taken out), averaged over the mirror, then given the new temperature
    t_before, t_after = (m.get("calibration", {}).get("temperature", 1.0) for m in (meta_before, meta))
    own = lambda x: scaled(plain.probabilities(x), 1 / t_before)  # noqa: E731
    expected = scaled((own(crops) + own(crops[:, :, ::-1].copy())) / 2, t_after)
    for name in ("model.tflite", "model.keras"):
        np.testing.assert_allclose(load_classifier(run / name).probabilities(crops), expected, atol=1e-4)
    assert_one_line_error(run_cli("train", "export", str(run), "--flip-average"), "already")


def test_export_class_bias_sets_the_operating_point_everywhere(trained, tmp_path):
    from monitor.io.pictures import read_gray
    from monitor.vision.classify import load_classifier

    root, out, _, _ = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    files = sorted((root / "data" / "val" / "sad").iterdir())[:20] + sorted((root / "data" / "val" / "happy").iterdir())[:20]
    before = load_classifier(run)
    crops = np.stack([before.crop_rule.whole(read_gray(f)) for f in files])
    p0 = before.probabilities(crops)
    meta0 = json.loads((run / "metadata.json").read_text())
    proc = run_cli("train", "export", str(run), "--class-bias", "sad=1.0", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["class_bias"] == {"sad": 1.0} and meta["export_command"].endswith("--class-bias sad=1.0")
    for name in ("model.tflite", "model.keras"):  # both files, through the metadata
        p1 = load_classifier(run / name).probabilities(crops)
        expected = p0 * np.array([1.0, np.e])
        np.testing.assert_allclose(p1, expected / expected.sum(axis=1, keepdims=True), atol=1e-4)
    sad_recall = lambda m: m["metrics"]["val"]["per_class"]["sad"]["recall"]  # noqa: E731
    assert sad_recall(meta) >= sad_recall(meta0)  # re-measured with the bias
    trial = run_cli("train", "evaluate", str(root / "data"), "--model", str(out), "--class-bias", "sad=1.0", "--json", timeout=600)
    assert trial.returncode == 0, trial.stderr[-2000:]  # the same operating point tried without changing the model
    assert abs(json.loads(trial.stdout)["balanced_accuracy"] - meta["metrics"]["val"]["balanced_accuracy"]) < 1e-9
    assert_one_line_error(run_cli("train", "export", str(run), "--class-bias", "bored=1"), "--class-bias", "bored")
    back = run_cli("train", "export", str(run), "--class-bias", "sad=0", timeout=600)
    assert back.returncode == 0, back.stderr[-2000:]
    assert not json.loads((run / "metadata.json").read_text()).get("class_bias")  # sad=0 removes it
