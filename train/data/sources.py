"""Options given per data folder (SOURCE=VALUE,...): how its pictures become faces, its label smoothing, its weight."""

from __future__ import annotations

import numpy as np

from monitor.core.errors import UserError
from train.data.samples import Sample

FACE_MODES = ("auto", "detect", "whole")


def face_modes(text: str) -> dict[str, str]:
    """--faces as {source: mode}, '' for every other source: 'auto', or 'whole,affectnet=detect' (per data folder, by its name)."""
    modes = {"": "auto"}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        source, _, mode = part.rpartition("=")
        if mode not in FACE_MODES:
            raise UserError(f"--faces {text}: {mode!r} is not one of {', '.join(FACE_MODES)}; give MODE or SOURCE=MODE,... (e.g. affectnet=detect)")
        modes[source] = mode
    return modes


def _numbers_by_source(text: str, option: str, default: float, ok, what: str, example: str) -> dict[str, float]:
    """'V' or 'V,SOURCE=V,...' as {source: value}, '' for every other source; each value checked by `ok`."""
    by_source = {"": default}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        source, _, value = part.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not ok(number):
            raise UserError(f"{option} {text}: {value!r} is not {what}; give V or SOURCE=V,... (e.g. {example})")
        by_source[source] = number
    return by_source


def smoothing_by_source(text: str) -> dict[str, float]:
    """--label-smoothing as {source: epsilon}, '' for every other source: '0.1', or '0.1,affectnet=0.3' (per data folder)."""
    return _numbers_by_source(text, "--label-smoothing", 0.1, lambda e: 0.0 <= e < 1.0, "a number from 0 to below 1", "0.1,affectnet=0.3")


def weights_by_source(text: str) -> dict[str, float]:
    """--source-weights as {source: weight}, '' for every other source (1): 'affectnet=2'. A weight is a data folder's."""
    weights = _numbers_by_source(text, "--source-weights", 1.0, lambda w: 0.0 < w <= 10.0, "a weight above 0 and at most 10", "affectnet=2")
    if weights[""] != 1.0:
        raise UserError(f"--source-weights {text}: say which data folder each weight is for: SOURCE=W,... (e.g. affectnet=2)")
    return weights


def reweighted(samples: list[Sample], weights: dict[str, float], seed: int = 0) -> list[Sample]:
    """Each source's training samples repeated by its weight (1 if not named): 2 shows every face twice an epoch, 0.5 a seeded half.

    Repetition rather than a loss weight, so it composes with class weights and soft targets
    (Keras takes one or the other), and a rare source's faces get as many augmented views as
    its weight says. The same seed picks the same fraction, so a resumed run sees the same faces.
    """
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for source in dict.fromkeys(s.source for s in samples):
        mine = [s for s in samples if s.source == source]
        w = weights.get(source, 1.0)
        whole, part = int(w), w - int(w)
        out += mine * whole
        if part:
            out += [mine[i] for i in sorted(rng.choice(len(mine), round(part * len(mine)), replace=False))]
    return out
