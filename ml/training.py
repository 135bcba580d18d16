"""The one fit loop shared by the autoencoder scorers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
import numpy as np
from tqdm.auto import tqdm

# progress(epochs_done, epochs_total, loss): lets a Celery task report training progress.
ProgressCallback = Callable[[int, int, float], None]


class _EpochReporter(keras.callbacks.Callback):
    """Advances a tqdm bar and calls the caller's progress hook after every epoch."""

    def __init__(self, epochs: int, progress: ProgressCallback | None, verbose: bool) -> None:
        super().__init__()
        self.epochs = epochs
        self.progress = progress
        self.bar = tqdm(total=epochs, desc="training", unit="epoch", disable=not verbose)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = float((logs or {}).get("loss", math.nan))
        self.bar.set_postfix(loss=f"{loss:.5f}")
        self.bar.update(1)
        if self.progress is not None:
            self.progress(epoch + 1, self.epochs, loss)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


def train_model(
    build: Callable[[], keras.Model],
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    loss: str | keras.losses.Loss | Callable,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    seed: int,
    progress: ProgressCallback | None = None,
    verbose: bool = True,
) -> tuple[keras.Model, dict]:
    """Build a fresh model and train it; return the model and a JSON-serialisable history.

    The seed is set before `build()` so that weight initialisation, shuffling and dropout are
    all reproducible: the same images and seed give the same model on the same machine.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if len(inputs) == 0:
        raise ValueError("cannot train on zero images")
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss)
    started = time.perf_counter()
    result = model.fit(
        inputs,
        targets,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[_EpochReporter(epochs, progress, verbose)],
    )
    seconds = time.perf_counter() - started
    history = {
        "loss": [float(value) for value in result.history["loss"]],
        "epochs": epochs,
        "batch_size": batch_size,
        "n_images": len(inputs),
        "seed": seed,
        "seconds": round(seconds, 3),
        "images_per_second": round(epochs * len(inputs) / seconds, 2),
    }
    return model, history
