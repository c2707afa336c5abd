"""The names that code outside train/ still imports from train.dataset (monitor/scoring.py, tests/test_pipeline.py,
tests/test_scoring.py); the data code itself is in train/data/. Goes when model_held_out moves to monitor.core.split."""

from train.data.samples import Sample, Scan
from train.data.split import held_out, model_held_out

__all__ = ["Sample", "Scan", "held_out", "model_held_out"]
