"""Temperature scaling: confidence that means what it says."""

from __future__ import annotations

import numpy as np

from train.calibrate import calibrate, expected_calibration_error, fit_temperature, reliability, scaled


def overconfident(n: int = 4000, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A toy model that is right ~70 % of the time but says 95 %+: logits sharpened 4x."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), y] += 1.2
    sharp = np.exp(4 * logits)
    return sharp / sharp.sum(axis=1, keepdims=True), y


def test_temperature_makes_an_overconfident_model_honest():
    probs, y = overconfident()
    t = fit_temperature(probs, y)
    assert 3.0 < t < 5.0  # undoes the 4x sharpening
    before, after = expected_calibration_error(probs, y), expected_calibration_error(scaled(probs, t), y)
    assert before > 0.15 and after < 0.03
    assert (scaled(probs, t).argmax(axis=1) == probs.argmax(axis=1)).all()  # no label changes


def test_calibrate_reports_before_and_after():
    probs, y = overconfident(seed=1)
    c = calibrate(probs, y)
    assert c["ece_after"] < c["ece_before"] and c["nll_after"] < c["nll_before"] and c["bins"] == 15 and c["fitted_on"] == 4000


def test_ece_of_a_calibrated_model_is_small_and_bins_add_up():
    rng = np.random.default_rng(2)
    conf = rng.uniform(0.5, 1.0, 20000)
    y_right = rng.uniform(size=conf.size) < conf  # right exactly as often as it says
    probs = np.stack([conf, 1 - conf], axis=1)
    y = np.where(y_right, 0, 1)
    r = reliability(probs, y)
    assert r["ece"] < 0.02 and sum(r["count"]) == 20000 and len(r["count"]) == 15


def test_a_temperature_that_makes_ece_worse_is_not_kept():
    # a tiny validation set where the NLL-optimal temperature worsens the binned error
    rng = np.random.default_rng(5)
    for seed in range(200):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 3, 12)
        probs = rng.dirichlet([1, 1, 1], 12)
        t = fit_temperature(probs, y)
        if expected_calibration_error(scaled(probs, t), y) > expected_calibration_error(probs, y):
            break
    else:
        raise AssertionError("no case found")
    c = calibrate(probs, y)
    assert c["temperature"] == 1.0 and c["ece_after"] == c["ece_before"] and "made ECE worse" in c["note"]
    assert "note" not in calibrate(*overconfident(seed=3))


def test_the_class_bias_fit_recovers_a_shifted_class():
    from train.calibrate import fit_class_bias

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(0, 1, (3000, 3))
    logits[np.arange(3000), y] += 2.0
    logits[:, 2] -= 1.0  # the network says 'sad' too rarely (e.g. subtle real sad faces)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    bias = fit_class_bias(probs, y)
    assert bias[0] == 0 and 0.5 <= bias[2] - bias[1] <= 1.5
    recall = lambda b: np.mean([((np.log(probs) + b).argmax(axis=1) == y)[y == k].mean() for k in range(3)])  # noqa: E731
    assert recall(bias) > recall(np.zeros(3)) + 0.03
    unbiased = np.eye(3)[y] * 0.9 + 0.05
    assert not fit_class_bias(unbiased, y).any()  # nothing to gain: no bias


def test_the_class_bias_fit_works_for_all_eight_classes():
    """Eight classes (the emotions model) are too many for the exhaustive search: one class at a time finds the shifts."""
    from train.calibrate import fit_class_bias

    rng = np.random.default_rng(1)
    y = rng.integers(0, 8, 4000)
    logits = rng.normal(0, 1, (4000, 8))
    logits[np.arange(4000), y] += 2.0
    logits[:, 6] -= 1.0  # too rarely sad
    logits[:, 5] += 0.8  # too often neutral
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    bias = fit_class_bias(probs, y)
    assert bias.shape == (8,) and bias[0] == 0
    assert bias[6] - np.median(bias) >= 0.5 and np.median(bias) - bias[5] >= 0.4
    recall = lambda b: np.mean([((np.log(probs) + b).argmax(axis=1) == y)[y == k].mean() for k in range(8)])  # noqa: E731
    assert recall(bias) > recall(np.zeros(8)) + 0.02
    assert not fit_class_bias(np.eye(8)[y] * 0.9 + 0.1 / 8, y).any()  # nothing to gain: no bias


def test_evaluation_says_which_temperature_would_calibrate_the_pictures_it_scored():
    """`train evaluate` reports it: above 1 where the model is over-confident on a kind of face, near 1 where it is honest."""
    from train.evaluate import Predictions, format_report, metrics_of

    probs, y = overconfident(seed=4)
    sure = metrics_of(Predictions(["a", "b", "c"], [str(i) for i in range(len(y))], y, probs, []))
    assert 3.0 < sure["temperature_here"] < 5.0
    honest = metrics_of(Predictions(["a", "b", "c"], [str(i) for i in range(len(y))], y, scaled(probs, sure["temperature_here"]), []))
    assert abs(honest["temperature_here"] - 1.0) < 0.05
    assert f"calibrated here by a temperature of {sure['temperature_here']:g}" in format_report(sure)
