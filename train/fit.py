"""Fitting the network: class weights, cosine learning rate, early stopping on balanced accuracy, a checkpoint per epoch."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import keras
import numpy as np

from train.evaluate import balanced_accuracy
from train.model import with_augmentation
from train.options import STATE_FILE, FitOptions, read_state

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




class Checkpoint(keras.callbacks.Callback):
    """After every epoch, the whole training state in `folder`: weights with the optimizer's, early stopping's, the history.

    A run that is stopped (Ctrl-C, a crash, a closed laptop) resumes from its last finished
    epoch (`--resume`). The state file is replaced atomically and names the weights it goes
    with, so a kill at any moment leaves a consistent checkpoint.
    """

    def __init__(self, folder: Path, stopper: keras.callbacks.EarlyStopping, state: dict | None) -> None:
        super().__init__()
        self.folder, self.stopper, self.resumed = folder, stopper, state
        self.history: dict[str, list[float]] = dict(state["history"]) if state else {}

    def on_train_begin(self, logs: dict | None = None) -> None:
        state = self.resumed
        if not state:
            return
        es = state["early_stopping"]  # runs after EarlyStopping's own reset (it comes first in the list)
        self.stopper.best, self.stopper.wait, self.stopper.best_epoch = es["best"], es["wait"], es["best_epoch"]
        if es["best"] is not None:
            with np.load(self.folder / "best.npz") as best:
                self.stopper.best_weights = [best[f"arr_{i}"] for i in range(len(best.files))]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        weights = self.folder / f"epoch-{epoch + 1}.weights.h5"
        self.model.save_weights(weights)
        if self.stopper.best_epoch == epoch and self.stopper.best_weights is not None:
            np.savez(self.folder / "best.tmp.npz", *self.stopper.best_weights)
            os.replace(self.folder / "best.tmp.npz", self.folder / "best.npz")
        best = self.stopper.best
        state = {
            "epoch": epoch + 1,
            "weights": weights.name,
            "stopped": bool(self.model.stop_training),
            "history": self.history,
            "early_stopping": {"best": None if best is None else float(best), "wait": self.stopper.wait, "best_epoch": self.stopper.best_epoch},
        }
        tmp = self.folder / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.folder / STATE_FILE)
        for old in self.folder.glob("epoch-*.weights.h5"):
            if old != weights:
                old.unlink()


def fit(
    classifier: keras.Model,
    train_ds,
    val_ds,
    weights: dict[int, float],
    steps_per_epoch: int,
    options: FitOptions,
    out_dir: Path,
    checkpoint: Path | None = None,
) -> dict:
    """Train `classifier` in place (best epoch's weights restored); returns the history dict.

    With `checkpoint`, the state is saved there after every epoch, and a state already there
    (an interrupted run of the same command) is where training continues.
    """
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
        loss=keras.losses.CategoricalCrossentropy(),  # targets come smoothed per source (train.data.pipeline.tf_dataset)
        metrics=["accuracy"],
    )
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_balanced_accuracy", mode="max", patience=options.patience, restore_best_weights=True, verbose=1
    )
    callbacks = [BalancedAccuracy(val_ds), stopper, keras.callbacks.TerminateOnNaN()]
    state = read_state(checkpoint) if checkpoint else None
    initial_epoch = 0
    if checkpoint:
        callbacks.append(Checkpoint(checkpoint, stopper, state))
    if state:
        model.optimizer.build(model.trainable_variables)
        model.load_weights(checkpoint / state["weights"])
        initial_epoch = options.epochs if state["stopped"] else state["epoch"]
        print(f"resumed after epoch {state['epoch']} of {options.epochs}" + (" (early stopping had ended it)" if state["stopped"] else ""))
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=options.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,  # the data is one stream of every epoch's batches (see train.data.pipeline.tf_dataset)
        class_weight=weights,
        callbacks=callbacks,
        shuffle=False,  # tf.data already reshuffles every epoch
        verbose=2,
    )
    full = callbacks[-1].history if checkpoint else history.history
    write_history(full, out_dir / "history.csv")
    return full


def write_history(history: dict[str, list[float]], path: Path) -> None:
    """history.csv: one row per epoch (what CSVLogger wrote, but for the whole run when it was resumed)."""
    keys = sorted(history)
    rows = zip(*(history[k] for k in keys))
    path.write_text("epoch," + ",".join(keys) + "\n" + "".join(f"{i}," + ",".join(repr(v) for v in row) + "\n" for i, row in enumerate(rows)))
