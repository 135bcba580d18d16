"""PatchCore (Roth et al. 2022): distance of each patch to a memory bank of good patches.

Each layer is standardised photometrically, replicated to RGB and passed through ImageNet
EfficientNet-Lite0 (`ml.backbones`); the outputs of two blocks (strides 8 and 16), each averaged
over a 3x3 neighbourhood, make one feature vector per patch. Fitting trains nothing: it keeps a
greedy coreset of the patches of the good layers and of benign variants of them. A patch's
anomaly is its distance to the nearest kept patch; the map is upsampled to the layer's frame,
smoothed, and expressed in standard deviations of what fresh good variants show. The score is
the mean of the highest few pixels of that map, as the `local` scorer's is.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from scipy import ndimage

from ml.backbones.efficientnet_lite import block_strides
from ml.residuals import augment_benign, normalise_photometric, top_mean
from ml.scorers.base import Scorer, ScoreResult, register
from ml.scorers.patchcore.memory import greedy_coreset, nearest_distances
from ml.scorers.patchcore.model import build_patch_embedding
from ml.training import ProgressCallback

_STATE_KEYS = ("memory_bank", "distance_scale")
_FEATURE_MAPS = 16  # channels `features` returns, spread evenly over the patch features
_SCALE_SAMPLES = 16  # fresh benign variants that set the heatmap's unit


def _check(images: np.ndarray) -> np.ndarray:
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1] != array.shape[2] or array.shape[1] < 16:
        raise ValueError(f"expected square preprocessed images (n, size, size), got {array.shape}")
    return array


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1] == size:
        return images
    factor = size / images.shape[1]
    return ndimage.zoom(images, (1, factor, factor), order=1, mode="nearest").astype(np.float32)


@register
class PatchCoreScorer(Scorer):
    name = "patchcore"
    # Heatmap unit: standard deviations above what good layers' patches show.
    heatmap_vmax = 12.0
    default_config = {
        # px; the backbone sees layers at this size (a multiple of 16): finer patches at 512 or
        # 1024. Layers given at another size are resized to it, and heatmaps back to theirs.
        "input_size": 256,
        "blocks": ["block4", "block10"],  # EfficientNet-Lite0 blocks at strides 8 and 16
        "neighbourhood": 3,  # patches averaged over this window of feature pixels
        "border": 16,  # px mirrored around the layer before the backbone (a multiple of 16)
        "photometric": True,  # standardise exposure before the backbone
        "bank_images": 32,  # good layers plus benign variants of them, whose patches are kept
        "coreset_fraction": 0.1,  # share of those patches the memory bank keeps
        "bank_max": 10000,  # at most this many patches in the bank
        "projection": 64,  # dimensions the coreset selection measures distances in
        "sigma": 4.0,  # px at 256; Gaussian smoothing of the heatmap, scaled with the layer size
        "top_fraction": 0.001,  # score = mean of this fraction of highest heatmap pixels
    }

    def __init__(self, config: dict | None = None) -> None:
        super().__init__(config)
        size = int(self.config["input_size"])
        if size % 16 or size < 32:
            raise ValueError(f"patchcore input_size must be a multiple of 16 and at least 32, got {size}")
        if int(self.config["border"]) % 16:
            raise ValueError(f"patchcore border must be a multiple of 16, got {self.config['border']}")
        self._model: keras.Model | None = None
        self._bank: np.ndarray | None = None
        self._scale: np.ndarray | None = None

    @property
    def input_size(self) -> int:
        """The layer size this scorer asks preprocessing for."""
        return int(self.config["input_size"])

    @property
    def keras_model(self) -> keras.Model:
        if self._model is None:
            self._model = build_patch_embedding(self.config["blocks"], int(self.config["neighbourhood"]))
        return self._model

    def _patches(self, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
        """(n, h, w, c) patch features of (n, size, size) layers, at the configured input size."""
        images = _resize(images, self.input_size)
        if self.config["photometric"]:
            images = normalise_photometric(images)[0]
        # Mirrored beyond the edges, so that edge patches see layer, not the network's zero padding.
        border = int(self.config["border"])
        images = np.pad(images, ((0, 0), (border, border), (border, border)), mode="reflect")
        crop = border // min(block_strides()[int(name.removeprefix("block"))] for name in self.config["blocks"])
        # predict_on_batch runs the compiled graph: calling the model eagerly dispatches each of
        # its layers from Python, which costs more than the convolutions for one layer at a time.
        out = [
            np.asarray(self.keras_model.predict_on_batch(images[start : start + batch_size, ..., None]))
            for start in range(0, len(images), batch_size)
        ]
        out = [part[:, crop : part.shape[1] - crop, crop : part.shape[2] - crop] for part in out]
        return np.concatenate(out) if out else np.empty((0, 1, 1, 1), np.float32)

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
        """Fill the memory bank from good layers; `epochs` is unused (nothing is trained)."""
        images = _check(images)
        if len(images) == 0:
            raise ValueError("patchcore needs at least one good layer to fit")
        rng = np.random.default_rng([seed, 3])
        copies = max(1, math.ceil(int(self.config["bank_images"]) / len(images)))
        variants = augment_benign(np.repeat(images, copies - 1, axis=0), rng)
        pool = np.concatenate([images, variants])
        patches = self._patches(pool)
        flat = patches.reshape(-1, patches.shape[-1])
        size = min(int(self.config["bank_max"]), max(1, int(round(len(flat) * float(self.config["coreset_fraction"])))))
        self._bank = flat[greedy_coreset(flat, size, rng, int(self.config["projection"]))].astype(np.float32)
        self._scale = None
        fresh = augment_benign(images[rng.integers(len(images), size=_SCALE_SAMPLES)], rng)
        distances = self._distance_maps(fresh, images.shape[1])
        self._scale = np.array([distances.mean(), max(float(distances.std()), 1e-6)], dtype=np.float32)
        if progress:
            progress(1, 1, 0.0)
        return {"loss": [], "bank_patches": int(len(self._bank)), "pool_layers": int(len(pool)),
                "distance_mean": float(self._scale[0]), "distance_std": float(self._scale[1])}

    def _distance_maps(self, images: np.ndarray, frame: int) -> np.ndarray:
        """Smoothed nearest-neighbour distances, (n, frame, frame), in the backbone's units."""
        if self._bank is None:
            raise RuntimeError("the patchcore scorer has no memory bank: fit it first")
        patches = self._patches(images)
        n, h, w, c = patches.shape
        distances = nearest_distances(patches.reshape(-1, c), self._bank).reshape(n, h, w)
        maps = ndimage.zoom(distances, (1, frame / h, frame / w), order=1, mode="nearest")
        sigma = float(self.config["sigma"]) * frame / 256
        return ndimage.gaussian_filter(maps, sigma=(0, sigma, sigma), mode="nearest").astype(np.float32)

    def distance_maps(self, images: np.ndarray) -> np.ndarray:
        """(n, S, S) maps of square layers, in standard deviations of good layers' patch distances."""
        images = _check(images)
        if self._scale is None:
            raise RuntimeError("the patchcore scorer has no distance scale: fit it first")
        return (self._distance_maps(images, images.shape[1]) - self._scale[0]) / self._scale[1]

    def score(self, images: np.ndarray, *, batch_size: int = 16) -> ScoreResult:
        images = _check(images)
        maps = self.distance_maps(images)
        return ScoreResult(
            scores=top_mean(maps, float(self.config["top_fraction"])),
            heatmaps=np.maximum(maps, 0.0).astype(np.float32),
            reconstructions=images.copy(),  # nothing is reconstructed: the layer stands in
        )

    def score_top_fraction(self) -> float:
        return float(self.config["top_fraction"])

    def features(self, images: np.ndarray) -> np.ndarray:
        """(n, h, w, 16): 16 channels spread evenly over the patch features (h = input_size / 8)."""
        patches = self._patches(_check(images))
        pick = np.linspace(0, patches.shape[-1] - 1, _FEATURE_MAPS).round().astype(int)
        return patches[..., pick]

    def get_state(self) -> dict[str, np.ndarray]:
        if self._bank is None or self._scale is None:
            return {}
        return {"memory_bank": self._bank, "distance_scale": self._scale}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        if not self.holds_state(state, _STATE_KEYS):
            return
        self._bank = np.asarray(state["memory_bank"], dtype=np.float32)
        self._scale = np.asarray(state["distance_scale"], dtype=np.float32)

    @classmethod
    def from_artifact(cls, *, model: keras.Model, config: dict, state: dict[str, np.ndarray]) -> PatchCoreScorer:
        scorer = cls(config)
        scorer._model = model
        scorer.set_state(state)
        return scorer
