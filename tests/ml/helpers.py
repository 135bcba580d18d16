"""Shared helpers for the ml tests."""

import os
from pathlib import Path

import numpy as np

from ml.synthetic import generate_job, generate_layers

# The real PBLM sample kept in the repository (data/pblm, MIT), or where LAYERWATCH_PBLM_DIR says.
PBLM = Path(os.environ.get("LAYERWATCH_PBLM_DIR") or Path(__file__).resolve().parents[2] / "data" / "pblm")


def synthetic_batch(*, seed: int, n: int, defect_kind: str | None = None) -> np.ndarray:
    """Preprocessed (n, 256, 256) float32 synthetic layers, all showing group 0's parts."""
    layers = generate_layers(seed=seed, n=n, defect_kind=defect_kind, group=0)
    return np.stack([layer.image for layer in layers]).astype(np.float32) / 255.0


ONSET = 10  # the layer the change tests' defects start on


def job_images(**kwargs) -> np.ndarray:
    """generate_job(**kwargs) as preprocessed (n, 256, 256) float32 layers."""
    return np.stack([layer.image for layer in generate_job(**kwargs)]).astype(np.float32) / 255.0


def short_feed_job(seed: int) -> tuple[np.ndarray, float]:
    """Machine 3's clean layers, then from layer ONSET a short feed that stays; and the share of the bed it covers."""
    layers = generate_job(
        seed=seed, n_layers=ONSET + 3, machine_seed=3, group_length=40, defects={ONSET: "short_feed"},
        defect_persistence=10,
    )
    return np.stack([layer.image for layer in layers]).astype(np.float32) / 255.0, float(layers[ONSET].mask.mean())


def spotted_layer(image: np.ndarray) -> np.ndarray:
    """A copy of a (256, 256) layer with a white disc of radius 8 px at row 150, column 90."""
    out = image.copy()
    yy, xx = np.mgrid[0:256, 0:256]
    out[(yy - 150) ** 2 + (xx - 90) ** 2 <= 64] = 1.0
    return out
