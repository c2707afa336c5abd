"""Calibrated confidence: one temperature fitted on validation faces, so "0.8" means right 8 times in 10.

People filter mood logs on `confidence`, so it must behave like a probability. A network
trained with cross-entropy is usually over-confident; dividing its logits by one number T > 1
(temperature scaling, Guo et al. 2017) fixes most of that without changing any label. The
temperature is built into the saved model, so the LiteRT and Keras backends apply it alike.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15
EPS = 1e-7


def scaled(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities with their logits divided by `temperature` (log p is the logit up to a constant)."""
    z = np.log(np.clip(probs, EPS, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes."""
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], EPS, 1.0))))


def fit_temperature(probs: np.ndarray, y: np.ndarray, low: float = 0.05, high: float = 20.0) -> float:
    """The temperature that minimises the NLL of `y` (golden-section search on log T; the NLL is convex in 1/T)."""
    a, b = np.log(low), np.log(high)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(scaled(probs, np.exp(c)), y), nll(scaled(probs, np.exp(d)), y)
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(scaled(probs, np.exp(c)), y)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(scaled(probs, np.exp(d)), y)
    return float(np.exp((a + b) / 2))


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per confidence bin: faces, mean confidence and accuracy; and the expected calibration error.

    ECE = sum over bins of (share of faces in the bin) x |accuracy - mean confidence|.
    """
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=conf, minlength=bins)
    right_sum = np.bincount(which, weights=right.astype(float), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf, acc = conf_sum / count, right_sum / count
    ece = float(np.sum(np.abs(right_sum - conf_sum)) / max(len(y), 1))
    return {"ece": ece, "edges": edges.tolist(), "count": count.tolist(), "confidence": mean_conf.tolist(), "accuracy": acc.tolist()}


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    return reliability(probs, y, bins)["ece"]


def calibrate(probs: np.ndarray, y: np.ndarray) -> dict:
    """Fit the temperature on these (validation) predictions; the numbers before and after, for the metadata."""
    t = fit_temperature(probs, y)
    after = scaled(probs, t)
    before_ece, after_ece = expected_calibration_error(probs, y), expected_calibration_error(after, y)
    note = None
    if after_ece > before_ece:  # a tiny or odd validation set: the fit can make the confidence worse; keep the better
        note = f"the fitted temperature {t:.3f} made ECE worse ({before_ece:.4f} -> {after_ece:.4f}); kept the network's own confidence"
        t, after, after_ece = 1.0, probs, before_ece
    return {
        "method": "temperature",
        "temperature": round(t, 4),
        "fitted_on": int(len(y)),
        "bins": ECE_BINS,
        "ece_before": before_ece,
        "ece_after": after_ece,
        "nll_before": nll(probs, y),
        "nll_after": nll(after, y),
        **({"note": note} if note else {}),
    }


def plot_reliability(probs: np.ndarray, y: np.ndarray, temperature: float, path, title: str) -> None:
    """Reliability diagram: accuracy against confidence per bin, before and after scaling (the diagonal is perfect)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfectly calibrated")
    for name, p, style in (("before", probs, "o-"), (f"after (T = {temperature:.2f})", scaled(probs, temperature), "s-")):
        r = reliability(p, y)
        keep = np.array(r["count"]) > 0
        ax.plot(np.array(r["confidence"])[keep], np.array(r["accuracy"])[keep], style, label=f"{name}: ECE {r['ece']:.3f}")
    ax.set_xlabel("confidence of the predicted class")
    ax.set_ylabel("share right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"{title}\n{ECE_BINS} bins")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fit_class_bias(probs: np.ndarray, y: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """The class bias (added to log-probabilities; class 0 fixed at 0) that maximises balanced accuracy on these predictions.

    Chosen on real faces it moves the decision where a source that the network saw less of
    needs it (say sad faces in the wild called neutral). Ties go to the smallest total bias,
    so a bias is only kept where it pays. Exhaustive over `grid` for up to 3 free classes;
    with more (41^7 points for eight classes) one class at a time, round after round, until
    a round changes nothing: a local optimum, reached from no bias.
    """
    from itertools import product

    k = probs.shape[1]
    y = np.asarray(y, dtype=int)
    support = np.bincount(y, minlength=k)
    present = support > 0
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2) if grid is None else grid
    logp = np.log(np.maximum(probs, 1e-12))

    def key(bias: np.ndarray) -> tuple[float, float]:
        right = np.bincount(y[(logp + bias).argmax(axis=1) == y], minlength=k)
        return round(float(np.mean(right[present] / support[present])), 9), -round(float(np.abs(bias).sum()), 9)

    if k - 1 <= 3:
        return max((np.array([0.0, *free]) for free in product(grid, repeat=k - 1)), key=key)
    best = np.zeros(k)
    best_key = key(best)
    for _ in range(20):
        before = best.copy()
        for j in range(1, k):
            for value in grid:
                trial = best.copy()
                trial[j] = value
                if (trial_key := key(trial)) > best_key:
                    best, best_key = trial, trial_key
        if np.array_equal(best, before):
            break
    return best
