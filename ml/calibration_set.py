"""The good layers a threshold is calibrated on, padded out with benign variants of them.

A new machine has a dozen good layers, so only two or three are held out for calibration, and
the highest of so few scores says little about the next good layer. Scoring the held-out layers
again under the harmless changes a camera sees (exposure, noise, a shift of a few pixels) shows
how far a good layer's score moves under them, so the threshold is not set in the one lucky
condition the held-out layers happened to be photographed in.
"""

from __future__ import annotations

import math

import numpy as np

from ml.residuals import augment_benign

# Below this many held-out layers, benign variants are added up to this count.
MIN_CALIBRATION_LAYERS = 100


def calibration_set(
    images: np.ndarray, *, seed: int = 0, minimum: int = MIN_CALIBRATION_LAYERS
) -> np.ndarray:
    """Return the held-out good layers, plus benign variants of them up to `minimum` in all."""
    if len(images) == 0 or len(images) >= minimum:
        return images
    rng = np.random.default_rng([seed, 2])
    copies = math.ceil((minimum - len(images)) / len(images))
    variants = augment_benign(np.concatenate([images] * copies), rng)[: minimum - len(images)]
    return np.concatenate([images, variants]).astype(np.float32, copy=False)
