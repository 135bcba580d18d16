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

from ml.preprocess import IMAGE_SIZE
from ml.residuals import (
    augment_benign,
    confirmed_by_median,
    corrupt,
    denormalise,
    multiscale_magnitude,
    normalise_photometric,
    shift_tolerant_residual,
    smooth,
    smooth_wide,
    top_mean,
)
from ml.scorers.autoencoder import AutoencoderScorer, _predict
from ml.scorers.base import ScoreResult, register
from ml.scorers.local.frames import (
    MAX_RESOLUTION,
    block_mean,
    check_resolution,
    random_crops,
    resolution_for,
    upsampled,
)
from ml.scorers.local.model import build_local_autoencoder
from ml.tiling import predict_tiled
from ml.training import ProgressCallback

STATE_KEYS = ("residual_mean", "residual_std")
_MAP_SAMPLES = 48  # augmented good layers used to learn the per-pixel residual statistics
_LEGACY_OFF = {
    "highpass": 0.0, "local_energy": 0.0, "map_smoothing": 6.0, "median_ring": 0.0, "resolution": IMAGE_SIZE,
}


@register
class LocalScorer(AutoencoderScorer):
    name = "local"
    # Heatmap unit: standard deviations above what good layers show at that pixel.
    heatmap_vmax = 12.0
    default_config = {
        # Side (px) of the square frame the layer is scored in: 256 is the model frame; more keeps
        # defects a few camera pixels wide. 0: the camera's own up to a limit, fixed at training
        # (resolve_input). Sizes below are in px of the 256 frame and scale with it.
        "resolution": 0,
        # Above 256, the network is trained on 256 px crops and applied in tiles of this core
        # (px of the scored frame) with a margin of context around each.
        "tile": 512,
        "tile_margin": 32,
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
        if self.config["resolution"]:
            check_resolution(int(self.config["resolution"]))
        self._mean: np.ndarray | None = None  # (scales, 256, 256): the model frame
        self._std: np.ndarray | None = None
        self._maps: tuple[np.ndarray, np.ndarray] | None = None  # the same in the scored frame

    @property
    def input_size(self) -> int:
        return int(self.config["resolution"]) or IMAGE_SIZE

    @property
    def _k(self) -> float:
        """Pixels of the scored frame per pixel of the model frame."""
        return self.input_size / IMAGE_SIZE

    def resolve_input(self, native_side: int, limit: int = MAX_RESOLUTION) -> None:
        """Fix resolution 0 from the larger side of the machine's photos: the camera's own, at most `limit`."""
        if not self.config["resolution"]:
            self.config["resolution"] = resolution_for(min(native_side, limit))

    def build_model(self) -> keras.Model:
        # Above the model frame the network takes crops and tiles of any size.
        return build_local_autoencoder(skip=bool(self.config["skip"]), size=None if self._k > 1 else IMAGE_SIZE)

    def loss(self) -> str:
        return "mae"

    def training_pairs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self._seed)
        if self._k > 1:
            # As many crops as layers (at least min_samples): an epoch costs what it does at 256.
            count = max(int(self.config["min_samples"]), len(images))
            batch = random_crops(images, count, IMAGE_SIZE, rng)
        else:
            copies = max(1, math.ceil(int(self.config["min_samples"]) / len(images)))
            batch = np.concatenate([images] * copies)
        if self.config["augment"]:
            batch = augment_benign(batch, rng, max_shift=3.0 * self._k)
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
        self.resolve_input(images.shape[-1])
        images = self.check(images)
        self._seed = seed
        self._mean = self._std = self._maps = None
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
        history["resolution"] = self.input_size
        return history

    def _fit_maps(self, images: np.ndarray, rng: np.random.Generator) -> None:
        if len(images) > _MAP_SAMPLES:
            images = images[rng.choice(len(images), _MAP_SAMPLES, replace=False)]
        copies = max(1, math.ceil(_MAP_SAMPLES / len(images)))
        pool = np.concatenate([images] * copies)
        total = total_sq = None
        for start in range(0, len(pool), self._chunk):
            batch = augment_benign(pool[start : start + self._chunk], rng, max_shift=3.0 * self._k)
            magnitudes = self._residuals(batch)[0]  # (scales, n, H, W)
            total = magnitudes.sum(axis=1) if total is None else total + magnitudes.sum(axis=1)
            squares = (magnitudes.astype(np.float64) ** 2).sum(axis=1)
            total_sq = squares if total_sq is None else total_sq + squares
        count = len(pool)
        mean_raw = (total / count).astype(np.float32)
        var_raw = np.maximum(total_sq / count - mean_raw.astype(np.float64) ** 2, 0.0).astype(np.float32)
        # At each pixel the larger of the statistics smoothed at each scale: a fine one for thin
        # structures that stay put (the bed's edge), a coarse one for part edges, which move a
        # little as the parts grow from layer to layer.
        sigmas = self._k * np.atleast_1d(np.asarray(self.config["map_smoothing"], dtype=float))
        mean = np.max([smooth(mean_raw, s) for s in sigmas], axis=0)
        std = np.sqrt(np.max([smooth(var_raw, s) for s in sigmas], axis=0))
        # A floor keeps a pixel that happened to be quiet in training from exploding later.
        floor = 0.5 * np.median(std.reshape(len(std), -1), axis=1)[:, None, None] + 1e-6
        # Kept in the model frame: smoothed at least this much, they lose nothing there.
        self._mean, self._std = block_mean(mean, IMAGE_SIZE), block_mean(np.maximum(std, floor), IMAGE_SIZE)
        self._maps = None

    @property
    def _chunk(self) -> int:
        """Layers whose residuals are worked on at once: fewer at full resolution, for memory."""
        return max(1, int(16 / self._k**2))

    def _scales(self) -> list[list[float]]:
        return [[float(a) * self._k, float(b) * self._k, float(angle)] for a, b, angle in self.config["scales"]]

    def _network(self, normalised: np.ndarray, batch_size: int) -> np.ndarray:
        if self._k > 1:
            tile, margin = int(self.config["tile"]), int(self.config["tile_margin"])
            out = predict_tiled(self.keras_model, normalised, tile=tile, margin=margin, batch_size=4)
        else:
            out = _predict(self.keras_model, normalised, batch_size)
        return np.clip(out[..., 0], 0, 1)

    def _residuals(self, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, ...]:
        normalised, centre, scale = normalise_photometric(images)
        reconstructed = self._network(normalised, batch_size)
        tolerance = int(round(int(self.config["tolerance"]) * self._k))
        residual = shift_tolerant_residual(normalised, reconstructed, tolerance)
        if self.config["highpass"]:
            highpass = float(self.config["highpass"]) * self._k
            residual = residual - (smooth_wide(residual, highpass) if self._k > 1 else smooth(residual, highpass))
        if self.config["median_ring"]:
            # After the high-pass: lighting the network did not follow must not decide the sign.
            residual = confirmed_by_median(normalised, residual, float(self.config["median_ring"]) * self._k)
        magnitudes = multiscale_magnitude(residual, self._scales())
        if self.config["local_energy"]:
            energy = np.sqrt(smooth(residual**2, float(self.config["local_energy"]) * self._k))
            magnitudes = magnitudes / (energy + 1e-4)[None]
        return magnitudes, reconstructed, centre, scale

    def reconstruct(self, images: np.ndarray, *, batch_size: int = 16) -> np.ndarray:
        normalised, centre, scale = normalise_photometric(self.check(images))
        return denormalise(self._network(normalised, batch_size), centre, scale)

    def score(self, images: np.ndarray, *, batch_size: int = 16) -> ScoreResult:
        images = self.check(images)
        chunks = range(0, len(images), self._chunk)
        parts = [self._score_chunk(images[start : start + self._chunk], batch_size) for start in chunks]
        if not parts:
            empty = np.zeros((0, self.input_size, self.input_size), np.float32)
            return ScoreResult(scores=np.zeros(0), heatmaps=empty, reconstructions=empty)
        fields = ("scores", "heatmaps", "reconstructions")
        return ScoreResult(*(np.concatenate([getattr(part, f) for part in parts]) for f in fields))

    def _score_chunk(self, images: np.ndarray, batch_size: int) -> ScoreResult:
        anomaly, reconstructions = self.anomaly_maps(images, batch_size)
        return ScoreResult(
            scores=top_mean(anomaly, float(self.config["top_fraction"])),
            heatmaps=np.maximum(anomaly, 0.0).astype(np.float32),
            reconstructions=reconstructions,
        )

    def anomaly_maps(self, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """(normalised residual maps, reconstructions) of checked images: what the score is taken from."""
        magnitudes, reconstructed, centre, scale = self._residuals(images, batch_size)
        if self.config["normalise_maps"]:
            mean, std = self._scored_maps()
            magnitudes = (magnitudes - mean[:, None]) / std[:, None]
        return magnitudes.max(axis=0), denormalise(reconstructed, centre, scale)

    def _scored_maps(self) -> tuple[np.ndarray, np.ndarray]:
        if self._mean is None or self._std is None:
            raise RuntimeError("the local scorer has no residual statistics: fit it first")
        if self._maps is None:
            self._maps = (upsampled(self._mean, self.input_size), upsampled(self._std, self.input_size))
        return self._maps

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
        return super().features(normalise_photometric(self.check(images))[0])

    def get_state(self) -> dict[str, np.ndarray]:
        if self._mean is None or self._std is None:
            return {}
        return {"residual_mean": self._mean, "residual_std": self._std}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        if not self.holds_state(state, STATE_KEYS):
            return
        self._mean = np.asarray(state["residual_mean"], dtype=np.float32)
        self._std = np.asarray(state["residual_std"], dtype=np.float32)
        self._maps = None
