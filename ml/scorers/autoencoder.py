"""Shared machinery for scorers that reconstruct the layer with a convolutional autoencoder."""

from __future__ import annotations

import abc
from collections.abc import Callable

import keras
import numpy as np

from ml.preprocess import IMAGE_SIZE
from ml.scorers.base import Scorer, ScoreResult
from ml.training import ProgressCallback, train_model

# Every autoencoder names its bottleneck so: its output is what `Scorer.features` returns.
BOTTLENECK_LAYER = "bottleneck"


def check_images(images: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Return images as float32 (n, size, size), accepting a trailing channel axis of 1."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1:] != (size, size):
        raise ValueError(
            f"expected preprocessed images of shape (n, {size}, {size}), "
            f"got {array.shape}; run ml.preprocess.preprocess_batch(images, {size}) first"
        )
    return array


class AutoencoderScorer(Scorer):
    """A scorer whose network reconstructs its input and has a layer named "bottleneck".

    Subclasses choose the network, the loss and how reconstruction error becomes a score.
    """

    default_config = {"learning_rate": 1e-3}

    def __init__(self, config: dict | None = None) -> None:
        super().__init__(config)
        self._model: keras.Model | None = None
        self._encoder: keras.Model | None = None

    @abc.abstractmethod
    def build_model(self) -> keras.Model:
        """A fresh, uncompiled network."""

    @abc.abstractmethod
    def score_reconstructions(
        self, images: np.ndarray, reconstructions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores (n,) float64, heatmaps (n, 256, 256) float32 >= 0)."""

    def check(self, images: np.ndarray) -> np.ndarray:
        return check_images(images, self.input_size)

    def loss(self) -> str | keras.losses.Loss | Callable:
        return "mse"

    def training_pairs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) for training; a denoising scorer would corrupt the inputs here."""
        return images, images

    def fit(
        self,
        images: np.ndarray,
        *,
        epochs: int,
        batch_size: int = 16,
        seed: int = 0,
        progress: ProgressCallback | None = None,
        verbose: bool = True,
    ) -> dict:
        """Train a fresh network (any previous fit is discarded) on good layers only."""
        inputs, targets = self.training_pairs(self.check(images))
        self._model, history = train_model(
            self.build_model,
            inputs[..., np.newaxis],
            targets[..., np.newaxis],
            loss=self.loss(),
            learning_rate=float(self.config["learning_rate"]),
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
            verbose=verbose,
        )
        self._encoder = None
        history["scorer"] = self.name
        return history

    @property
    def keras_model(self) -> keras.Model:
        if self._model is None:
            raise RuntimeError(f"the {self.name} scorer has not been fitted or loaded")
        return self._model

    def reconstruct(self, images: np.ndarray, *, batch_size: int = 16) -> np.ndarray:
        out = _predict(self.keras_model, self.check(images), batch_size)
        return np.clip(out[..., 0], 0.0, 1.0)

    def score(self, images: np.ndarray, *, batch_size: int = 16) -> ScoreResult:
        images = self.check(images)
        reconstructions = self.reconstruct(images, batch_size=batch_size)
        scores, heatmaps = self.score_reconstructions(images, reconstructions)
        return ScoreResult(
            scores=np.asarray(scores, dtype=np.float64),
            heatmaps=np.asarray(heatmaps, dtype=np.float32),
            reconstructions=reconstructions,
        )

    def features(self, images: np.ndarray) -> np.ndarray:
        if self._encoder is None:
            model = self.keras_model
            self._encoder = keras.Model(model.inputs, model.get_layer(BOTTLENECK_LAYER).output)
        return _predict(self._encoder, self.check(images), batch_size=16)

    @classmethod
    def from_artifact(
        cls, *, model: keras.Model, config: dict, state: dict[str, np.ndarray]
    ) -> AutoencoderScorer:
        scorer = cls(config)
        scorer._model = model
        scorer.set_state(state)
        return scorer


def _predict(model: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    # predict_on_batch skips the tf.data pipeline that model.predict builds on every call,
    # which dominates when a worker scores one layer at a time.
    batches = [
        np.asarray(model.predict_on_batch(images[start : start + batch_size, ..., np.newaxis]))
        for start in range(0, len(images), batch_size)
    ]
    if not batches:
        return np.zeros((0, *model.output_shape[1:]), dtype=np.float32)
    return np.concatenate(batches).astype(np.float32, copy=False)
