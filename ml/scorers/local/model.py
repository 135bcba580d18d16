"""The autoencoder behind the "local" scorer: strided 3x3 convolutions, cheap enough for a CPU.

It keeps the seed's 32x32x16 bottleneck (so `Scorer.features` has the same shape) and works at
full resolution only in its last layers. A skip connection at 1/4 resolution passes the layout
(part cross-sections, which change between layer groups) straight to the decoder, so it need
not squeeze through the bottleneck; denoising training keeps it from passing defects along.
"""

import keras
from keras import layers

from ml.preprocess import IMAGE_SIZE
from ml.scorers.autoencoder import BOTTLENECK_LAYER


def build_local_autoencoder(width: int = 32, skip: bool = True, size: int | None = IMAGE_SIZE) -> keras.Model:
    """SxSx1 -> S/8xS/8x16 bottleneck -> SxSx1, sigmoid output; S = size, or any multiple of 8
    where size is None (the network is then trained on crops and applied in tiles)."""
    inputs = keras.Input(shape=(size, size, 1), name="image")
    x = inputs
    levels = []
    for i, filters in enumerate((width // 2, width, width)):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=f"enc{i}")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"enc{i}b")(x)
        levels.append(x)
    x = layers.Conv2D(16, 1, activation="relu", name=BOTTLENECK_LAYER)(x)
    for i, filters in enumerate((width, width, width // 2)):
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", activation="relu", name=f"dec{i}"
        )(x)
        if skip and i == 0:
            # 64x64: a narrow view of the layout, too coarse to carry pixel-sized defects.
            context = layers.Conv2D(8, 1, activation="relu", name="skip")(levels[1])
            x = layers.Concatenate(name="with_layout")([x, context])
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"dec{i}b")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="local_autoencoder")
