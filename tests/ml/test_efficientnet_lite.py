from pathlib import Path

import keras
import numpy as np
import pytest

from ml.backbones.efficientnet_lite import (
    block_strides,
    build_efficientnet_lite0,
    load_efficientnet_lite0,
    load_weights,
    weights_path,
)
from ml.backbones.torch_weights import load_state_dict

# Outputs of the reference PyTorch implementation (efficientnet_lite_pytorch) on _pattern(),
# computed once with torch: logits, block 4's output at every other pixel, block 10's channel means.
REFERENCE = Path(__file__).parent / "data" / "efficientnet_lite0_reference.npz"


def _pattern() -> np.ndarray:
    i, j = np.mgrid[0:64, 0:48].astype(np.float32)
    channels = [np.sin(0.31 * i + 0.17 * j + c) * np.cos(0.11 * j - 0.23 * c * i) for c in range(3)]
    return np.stack(channels, -1)[None] * 2


@pytest.fixture(scope="module")
def state_dict() -> dict[str, np.ndarray]:
    return load_state_dict(weights_path())


def test_it_uses_every_weight_of_the_wheel_with_matching_shapes(state_dict):
    model = build_efficientnet_lite0(("logits",))
    assert load_weights(model, state_dict) == set()
    assert model.count_params() == sum(v.size for k, v in state_dict.items() if not k.endswith("num_batches_tracked"))


def test_it_computes_what_the_pytorch_model_computes():
    reference = np.load(REFERENCE)
    model = load_efficientnet_lite0(("block4", "block10", "logits"))
    block4, block10, logits = (keras.ops.convert_to_numpy(out) for out in model(_pattern(), training=False))
    assert block4.shape == (1, 8, 6, 40) and block10.shape == (1, 4, 3, 112)
    assert np.abs(logits[0] - reference["logits"]).max() < 1e-3
    assert np.abs(block4[0, ::2, ::2] - reference["block4"].astype(np.float32)).max() < 0.05
    assert np.abs(block10[0].mean(axis=(0, 1)) - reference["block10"]).max() < 1e-3


def test_it_stops_at_the_deepest_output_asked_for():
    model = build_efficientnet_lite0(("block4",))
    assert not any(layer.name.startswith(("block5", "head", "fc")) for layer in model.layers)
    assert block_strides()[4] == 8 and block_strides()[10] == 16


def test_it_refuses_an_unknown_output():
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite0 outputs"):
        build_efficientnet_lite0(("block4", "head2"))


def test_it_refuses_weights_of_the_wrong_shape(state_dict):
    broken = dict(state_dict)
    broken["_blocks.0._project_conv.weight"] = np.zeros((8, 32, 1, 1), np.float32)
    with pytest.raises(ValueError, match="block0_project"):
        load_weights(build_efficientnet_lite0(("block1",)), broken)


def test_it_refuses_a_state_dict_that_lacks_a_weight(state_dict):
    broken = {k: v for k, v in state_dict.items() if not k.startswith("_blocks.2.")}
    with pytest.raises(KeyError, match="_blocks.2"):
        load_weights(build_efficientnet_lite0(("block2",)), broken)
