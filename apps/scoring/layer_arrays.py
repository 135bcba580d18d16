"""Stored layer images as the scorers and the change channel take them (here, not in apps.layers,
which the web processes import: preprocessing loads TensorFlow)."""

import numpy as np

from apps.layers.imaging import read_image_array
from apps.layers.models import Layer
from ml.preprocess import preprocess


def layers_preprocessed(layers: list[Layer]) -> np.ndarray:
    """The layers' images, preprocessed, stacked in the given order."""
    return np.stack([preprocess(read_image_array(layer.image)) for layer in layers])
