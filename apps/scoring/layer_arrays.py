"""Stored layer images as the scorers and the change channel take them (here, not in apps.layers,
which the web processes import: preprocessing loads TensorFlow)."""

import numpy as np

from apps.layers.imaging import read_image_array
from apps.layers.models import Layer
from ml.preprocess import IMAGE_SIZE, preprocess


def layers_preprocessed(layers: list[Layer], size: int = IMAGE_SIZE) -> np.ndarray:
    """The layers' images, preprocessed to size x size (a scorer's input_size), stacked in order."""
    return np.stack([preprocess(read_image_array(layer.image), size) for layer in layers])
