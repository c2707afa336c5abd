"""Fitting the network: class weights, cosine learning rate, early stopping on balanced accuracy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import keras
import numpy as np

from train.evaluate import balanced_accuracy
from train.model import with_augmentation
from train.options import FitOptions

CLASS_WEIGHTINGS = ("balanced", "sqrt", "none")


def class_weights(labels: list[int], num_classes: int, mode: str = "balanced") -> dict[int, float]:
    """Per-class loss weights (mean 1 over samples): 'balanced' = inverse frequency, so a rare class counts as much as a
    common one; 'sqrt' = inverse square root, halfway (rare classes such as FER+'s 168 contempt faces do not swamp
    accuracy); 'none' = all 1."""
    counts = Counter(labels)
    n = len(labels)
    power = {"balanced": 1.0, "sqrt": 0.5, "none": 0.0}[mode]
    raw = {c: (n / counts[c]) ** power if counts.get(c) else 0.0 for c in range(num_classes)}
    mean = sum(raw[c] * counts.get(c, 0) for c in raw) / n
    return {c: w / mean for c, w in raw.items()}


class BalancedAccuracy(keras.callbacks.Callback):
    """Adds `val_balanced_accuracy` to the epoch logs, for early stopping and the curves."""

    def __init__(self, val_ds) -> None:
        super().__init__()
        self.val_ds = val_ds

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        y_true, y_pred = [], []
        for x, y in self.val_ds:
            y_pred.append(np.argmax(self.model(x, training=False), axis=1))
            y_true.append(np.argmax(y, axis=1))
        num_classes = int(self.model.output_shape[-1])
        score = balanced_accuracy(np.concatenate(y_true), np.concatenate(y_pred), num_classes)
        if logs is not None:
            logs["val_balanced_accuracy"] = score
        print(f" - val_balanced_accuracy: {score:.4f}")


def fit(
    classifier: keras.Model, train_ds, val_ds, weights: dict[int, float], steps_per_epoch: int, options: FitOptions, out_dir: Path
) -> dict:
    """Train `classifier` in place (best epoch's weights restored); returns the history dict."""
    keras.utils.set_random_seed(options.seed)
    model = with_augmentation(classifier)
    warmup = options.warmup_epochs * steps_per_epoch  # ramp up from near zero: many imbalanced classes can kill the head at full rate
    schedule = keras.optimizers.schedules.CosineDecay(
        options.learning_rate / 100 if warmup else options.learning_rate,
        decay_steps=max(1, options.epochs * steps_per_epoch - warmup),
        alpha=0.01,
        warmup_target=options.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=options.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=options.label_smoothing),
        metrics=["accuracy"],
    )
    callbacks = [
        BalancedAccuracy(val_ds),
        keras.callbacks.EarlyStopping(
            monitor="val_balanced_accuracy", mode="max", patience=options.patience, restore_best_weights=True, verbose=1
        ),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv")),
        keras.callbacks.TerminateOnNaN(),
    ]
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=options.epochs,
        class_weight=weights,
        callbacks=callbacks,
        shuffle=False,  # tf.data already reshuffles every epoch
        verbose=2,
    )
    return history.history
