"""Training hyper-parameters as one plain record (no TensorFlow import, so `--help` is instant)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FitOptions:
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    patience: int = 12
    warmup_epochs: int = 0
    mixup: float = 0.0
    class_weights: str = "balanced"
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
