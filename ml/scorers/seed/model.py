"""The 2019 prototype convolutional autoencoder, reproduced layer for layer.

Deployed seed models were trained with this exact graph, so its shapes, kernel sizes and layer
order must not change; newer architectures get their own module.
"""

import keras
from keras import layers

from ml.preprocess import IMAGE_SIZE
from ml.scorers.autoencoder import BOTTLENECK_LAYER


def _conv(filters: int, name: str, activation: str = "relu") -> layers.Conv2D:
    return layers.Conv2D(filters, (5, 5), activation=activation, padding="same", name=name)


def build_seed_autoencoder() -> keras.Model:
    """256x256x1 -> 32x32x16 bottleneck -> 256x256x1, sigmoid output (inputs are in [0, 1])."""
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    x = inputs
    for i, filters in enumerate((32, 32, 16)):
        x = _conv(filters, f"enc_conv{i}")(x)
        x = layers.MaxPooling2D(2, name=BOTTLENECK_LAYER if i == 2 else f"enc_pool{i}")(x)
    for i, filters in enumerate((16, 32, 32)):
        x = _conv(filters, f"dec_conv{i}")(x)
        x = layers.UpSampling2D(2, name=f"dec_up{i}")(x)
    outputs = _conv(1, "reconstruction", activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="seed_autoencoder")
