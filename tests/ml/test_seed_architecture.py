from keras import layers

from ml.scorers.seed.model import build_seed_autoencoder


def _conv_params(kernel: int, channels_in: int, filters: int) -> int:
    return kernel * kernel * channels_in * filters + filters


def test_it_reproduces_seed_architecture():
    model = build_seed_autoencoder()
    body = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    expected = [
        (layers.Conv2D, 32, "relu"),
        (layers.MaxPooling2D, None, None),
        (layers.Conv2D, 32, "relu"),
        (layers.MaxPooling2D, None, None),
        (layers.Conv2D, 16, "relu"),
        (layers.MaxPooling2D, None, None),
        (layers.Conv2D, 16, "relu"),
        (layers.UpSampling2D, None, None),
        (layers.Conv2D, 32, "relu"),
        (layers.UpSampling2D, None, None),
        (layers.Conv2D, 32, "relu"),
        (layers.UpSampling2D, None, None),
        (layers.Conv2D, 1, "sigmoid"),
    ]
    assert [type(layer) for layer in body] == [kind for kind, _, _ in expected]
    for layer, (_, filters, activation) in zip(body, expected, strict=True):
        if isinstance(layer, layers.Conv2D):
            assert layer.filters == filters
            assert layer.kernel_size == (5, 5)
            assert layer.padding == "same"
            assert layer.activation.__name__ == activation
        elif isinstance(layer, layers.MaxPooling2D):
            assert layer.pool_size == (2, 2)
        else:
            assert layer.size == (2, 2)
            assert layer.interpolation == "nearest"


def test_it_maps_256x256x1_to_itself_through_a_32x32x16_bottleneck():
    model = build_seed_autoencoder()
    assert model.input_shape == (None, 256, 256, 1)
    assert model.output_shape == (None, 256, 256, 1)
    assert model.get_layer("bottleneck").output.shape == (None, 32, 32, 16)


def test_it_has_the_hand_computed_parameter_count():
    chain = [(1, 32), (32, 32), (32, 16), (16, 16), (16, 32), (32, 32), (32, 1)]
    expected = sum(_conv_params(5, cin, cout) for cin, cout in chain)
    assert expected == 84_961
    assert build_seed_autoencoder().count_params() == expected
