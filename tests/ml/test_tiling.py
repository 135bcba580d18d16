import keras
import numpy as np
import pytest

from ml.tiling import predict_tiled, tile_origins


def _small_network() -> keras.Model:
    """Two 3x3 convolutions: a receptive field of 5 px, well inside an 8 px margin."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(None, None, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2D(1, 3, padding="same")(x)
    return keras.Model(inputs, outputs)


def test_it_covers_the_frame_with_cores_ending_flush():
    assert tile_origins(1024, 512) == [0, 512]
    assert tile_origins(768, 512) == [0, 256]
    assert tile_origins(256, 512) == [0]


def test_it_matches_the_whole_image_prediction_away_from_the_border():
    model = _small_network()
    images = np.random.default_rng(1).random((2, 96, 96)).astype(np.float32)
    whole = np.asarray(model.predict_on_batch(images[..., None]))
    tiled = predict_tiled(model, images, tile=32, margin=8, batch_size=5)
    assert tiled.shape == whole.shape
    # Inside, each pixel sees the same neighbourhood either way: no seams between tiles.
    assert tiled[:, 3:-3, 3:-3] == pytest.approx(whole[:, 3:-3, 3:-3], abs=1e-5)
