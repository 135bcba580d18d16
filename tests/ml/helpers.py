"""Shared helpers for the ml tests."""

import os
from pathlib import Path

import numpy as np

from ml.synthetic import generate_layers

# The real PBLM sample kept in the repository (data/pblm, MIT), or where LAYERWATCH_PBLM_DIR says.
PBLM = Path(os.environ.get("LAYERWATCH_PBLM_DIR") or Path(__file__).resolve().parents[2] / "data" / "pblm")


def synthetic_batch(*, seed: int, n: int, defect_kind: str | None = None) -> np.ndarray:
    """Preprocessed (n, 256, 256) float32 synthetic layers, all showing group 0's parts."""
    layers = generate_layers(seed=seed, n=n, defect_kind=defect_kind, group=0)
    return np.stack([layer.image for layer in layers]).astype(np.float32) / 255.0
