"""The 2019 prototype's scorer, kept bit-for-bit so that old thresholds stay comparable."""

import math

import keras
import numpy as np

from ml.preprocess import IMAGE_SIZE
from ml.scorers.autoencoder import AutoencoderScorer
from ml.scorers.base import register
from ml.scorers.seed.model import build_seed_autoencoder


@register
class SeedScorer(AutoencoderScorer):
    """Global L2 reconstruction error on the 0..255 scale, as the prototype computed it."""

    name = "seed"
    # A per-pixel error of 0.25 (64 grey levels) is already a gross miss: full colour there.
    heatmap_vmax = 0.25
    default_config = {"learning_rate": 1e-3}

    def build_model(self) -> keras.Model:
        return build_seed_autoencoder()

    def score_reconstructions(
        self, images: np.ndarray, reconstructions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        difference = images.astype(np.float64) * 255.0 - reconstructions.astype(np.float64) * 255.0
        scores = np.linalg.norm(difference.reshape(len(images), -1), axis=1)
        heatmaps = np.abs(images - reconstructions).astype(np.float32)
        return scores, heatmaps

    def heatmap_threshold(self, threshold: float) -> float:
        """The RMS per-pixel residual of a layer that scores exactly `threshold`.

        The score is the L2 norm of 255 * (x - x̂) over all 256x256 pixels and the heatmap is
        |x - x̂| per pixel, so a layer that missed every pixel by threshold / (255 * 256) scores
        the threshold. A global score has no truly local equivalent: a good layer's error is
        spread out, so some of its pixels pass this level too and seed heatmaps show regions on
        layers under threshold far more often than the local scorer's do.
        """
        return float(threshold) / (255.0 * math.sqrt(IMAGE_SIZE * IMAGE_SIZE))
