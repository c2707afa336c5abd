"""Training hyper-parameters as one plain record, and a run's saved state (no TensorFlow import, so `--help` is instant
and the command's checks say what is wrong before TensorFlow starts)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "state.json"  # in a run's checkpoint folder: the last finished epoch (train/fit.py writes it)


@dataclass(frozen=True)
class FitOptions:
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1  # for every data folder not named in label_smoothing_by_source
    label_smoothing_by_source: dict = field(default_factory=dict)
    source_weights: dict = field(default_factory=dict)  # data folder -> how many times its faces are shown an epoch
    patience: int = 12
    warmup_epochs: int = 0
    mixup: float = 0.0
    class_weights: str = "balanced"
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def read_state(folder: Path) -> dict | None:
    """The last finished epoch's state in a checkpoint folder (None when there is none)."""
    try:
        return json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
