"""Local, normalised reconstruction error: the scorer that replaces the seed's global L2.

Each layer is standardised photometrically (so exposure drift disappears), reconstructed by a
denoising autoencoder trained with benign augmentation, and compared with its reconstruction
pixel by pixel, forgiving a pixel of misalignment. The residual's smooth part (uneven lighting
that the network did not follow) is removed, and a pixel keeps only what it also shows against
its own surroundings (a ring median), so the parts of a new job, which the network reconstructs
poorly, do not light up. The rest is smoothed along lines and spots and divided, per pixel, by
what it looks like on good layers of the same machine (maps learned at fit time and stored as
state). The score is the mean of the highest few normalised pixels, so a small defect counts as
much as a large one, and the heatmap is that normalised map: it shows where.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from ml.residuals import (
    augment_benign,
    confirmed_by_median,
    corrupt,
    denormalise,
    multiscale_magnitude,
    normalise_photometric,
    shift_tolerant_residual,
    smooth,
    top_mean,
)
from ml.scorers.autoencoder import AutoencoderScorer, _predict, check_images
from ml.scorers.base import ScoreResult, register
from ml.scorers.local.model import build_local_autoencoder
from ml.training import ProgressCallback

_STATE_KEYS = ("residual_mean", "residual_std")
_MAP_SAMPLES = 48  # augmented good layers used to learn the per-pixel residual statistics
_LEGACY_OFF = {"highpass": 0.0, "local_energy": 0.0, "map_smoothing": 6.0, "median_ring": 0.0}


@register
class LocalScorer(AutoencoderScorer):
    name = "local"
    # Heatmap unit: standard deviations above what good layers show at that pixel.
    heatmap_vmax = 12.0
    default_config = {
        "learning_rate": 1e-3,
        "min_samples": 96,  # augmented copies per epoch when a machine has few good layers
        "augment": True,
        "skip": True,  # pass the part layout to the decoder at 1/4 resolution
        "denoise": True,
        "tolerance": 1,  # px of misalignment forgiven in the residual
        # px; a pixel must also differ from the median of a ring this wide around it (see
        # confirmed_by_median), so the parts of a new job, which the network has never seen and
        # reconstructs poorly, are not flagged. 0 turns it off.
        "median_ring": 5.0,
        # (sigma_across, sigma_along, angle in degrees): the residual is smoothed at each
        # scale; round ones for spots and patches, elongated ones for lines in 4 directions.
        "scales": [[1, 1, 0], [2, 2, 0], [4, 4, 0], [1, 8, 0], [1, 8, 45], [1, 8, 90], [1, 8, 135]],
        # Residual detail coarser than this (px) is removed before scoring: uneven lighting and
        # exposure changes are smooth, defects are not. 0 turns it off.
        "highpass": 16.0,
        # The residual is divided by its local RMS over this scale (px), so a patch of rougher
        # powder does not look anomalous, only something that stands out from its surroundings.
        # Off by default: it steadied scores on real frames but blunted lines near part edges.
        "local_energy": 0.0,
        "top_fraction": 0.0003,  # score = mean of this fraction of highest pixels
        "normalise_maps": True,
        # px; the residual statistics are smoothed across the bed at these scales (see _fit_maps).
        "map_smoothing": [2.0, 6.0],
        # Share of the good layers kept out of training to learn the residual statistics from.
        # Off: holding out 25% did not help at a few epochs, and day one has only ~12 frames.
        "map_holdout": 0.0,
    }

    def __init__(self, config: dict | None = None) -> None:
        super().__init__(config)
        self._mean: np.ndarray | None = None
        self._std: np.ndarray | None = None

    def build_model(self) -> keras.Model:
        return build_local_autoencoder(skip=bool(self.config["skip"]))

    def loss(self) -> str:
        return "mae"

    def training_pairs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self._seed)
        copies = max(1, math.ceil(int(self.config["min_samples"]) / len(images)))
        batch = np.concatenate([images] * copies)
        if self.config["augment"]:
            batch = augment_benign(batch, rng)
        targets = normalise_photometric(batch)[0]
        inputs = corrupt(targets, rng) if self.config["denoise"] else targets
        return inputs, targets

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
        images = check_images(images)
        self._seed = seed
        self._mean = self._std = None
        rng = np.random.default_rng([seed, 1])
        n_holdout = int(round(len(images) * float(self.config["map_holdout"])))
        order = rng.permutation(len(images))
        if 0 < n_holdout < len(images):
            images, held_out = images[order[n_holdout:]], images[order[:n_holdout]]
        else:
            held_out = images
        history = super().fit(
            images,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
            verbose=verbose,
        )
        self._fit_maps(held_out, rng)
        history["map_layers"] = len(held_out)
        return history

    def _fit_maps(self, images: np.ndarray, rng: np.random.Generator) -> None:
        if len(images) > _MAP_SAMPLES:
            images = images[rng.choice(len(images), _MAP_SAMPLES, replace=False)]
        copies = max(1, math.ceil(_MAP_SAMPLES / len(images)))
        batch = augment_benign(np.concatenate([images] * copies), rng)
        magnitudes = self._residuals(batch)[0]  # (scales, n, H, W)
        # At each pixel the larger of the statistics smoothed at each scale: a fine one for thin
        # structures that stay put (the bed's edge), a coarse one for part edges, which move a
        # little as the parts grow from layer to layer.
        sigmas = np.atleast_1d(np.asarray(self.config["map_smoothing"], dtype=float))
        mean = np.max([smooth(magnitudes.mean(axis=1), s) for s in sigmas], axis=0)
        std = np.sqrt(np.max([smooth(magnitudes.var(axis=1), s) for s in sigmas], axis=0))
        # A floor keeps a pixel that happened to be quiet in training from exploding later.
        floor = 0.5 * np.median(std.reshape(len(std), -1), axis=1)[:, None, None] + 1e-6
        self._mean, self._std = mean, np.maximum(std, floor)

    def _residuals(self, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, ...]:
        normalised, centre, scale = normalise_photometric(images)
        reconstructed = np.clip(_predict(self.keras_model, normalised, batch_size)[..., 0], 0, 1)
        residual = shift_tolerant_residual(normalised, reconstructed, int(self.config["tolerance"]))
        if self.config["highpass"]:
            residual = residual - smooth(residual, float(self.config["highpass"]))
        if self.config["median_ring"]:
            # After the high-pass: lighting the network did not follow must not decide the sign.
            residual = confirmed_by_median(normalised, residual, float(self.config["median_ring"]))
        scales = [list(map(float, pair)) for pair in self.config["scales"]]
        magnitudes = multiscale_magnitude(residual, scales)
        if self.config["local_energy"]:
            energy = np.sqrt(smooth(residual**2, float(self.config["local_energy"])))
            magnitudes = magnitudes / (energy + 1e-4)[None]
        return magnitudes, reconstructed, centre, scale

    def reconstruct(self, images: np.ndarray, *, batch_size: int = 16) -> np.ndarray:
        normalised, centre, scale = normalise_photometric(check_images(images))
        out = np.clip(_predict(self.keras_model, normalised, batch_size)[..., 0], 0, 1)
        return denormalise(out, centre, scale)

    def score(self, images: np.ndarray, *, batch_size: int = 16) -> ScoreResult:
        images = check_images(images)
        magnitudes, reconstructed, centre, scale = self._residuals(images, batch_size)
        if self.config["normalise_maps"]:
            if self._mean is None or self._std is None:
                raise RuntimeError("the local scorer has no residual statistics: fit it first")
            magnitudes = (magnitudes - self._mean[:, None]) / self._std[:, None]
        residual = magnitudes.max(axis=0)
        scores = top_mean(residual, float(self.config["top_fraction"]))
        return ScoreResult(
            scores=scores,
            heatmaps=np.maximum(residual, 0.0).astype(np.float32),
            reconstructions=denormalise(reconstructed, centre, scale),
        )

    @classmethod
    def from_artifact(cls, *, model, config: dict, state: dict[str, np.ndarray]) -> LocalScorer:
        # Artifacts saved before an option existed were fitted without it: keep it off for them.
        legacy = {key: value for key, value in _LEGACY_OFF.items() if key not in config}
        return super().from_artifact(model=model, config={**config, **legacy}, state=state)

    def score_top_fraction(self) -> float:
        return float(self.config["top_fraction"])

    def score_reconstructions(self, images, reconstructions):  # pragma: no cover - unused
        raise NotImplementedError("the local scorer scores in its own normalised frame")

    def features(self, images: np.ndarray) -> np.ndarray:
        return super().features(normalise_photometric(check_images(images))[0])

    def get_state(self) -> dict[str, np.ndarray]:
        if self._mean is None or self._std is None:
            return {}
        return {"residual_mean": self._mean, "residual_std": self._std}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        if not state:
            return
        if set(state) != set(_STATE_KEYS):
            raise ValueError(f"the local scorer expects state {_STATE_KEYS}, got {sorted(state)}")
        self._mean = np.asarray(state["residual_mean"], dtype=np.float32)
        self._std = np.asarray(state["residual_std"], dtype=np.float32)
