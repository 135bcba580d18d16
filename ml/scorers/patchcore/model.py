"""The patch embedding network: grayscale layer in, PatchCore's locally aware patch features out."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from ml.backbones.efficientnet_lite import IMAGENET_MEAN, IMAGENET_STD, block_strides, load_efficientnet_lite0


def build_patch_embedding(blocks: Sequence[str], neighbourhood: int) -> keras.Model:
    """(n, h, w, 1) layers in [0, 1] -> (n, h / s, w / s, channels) patch features.

    `blocks` are EfficientNet-Lite0 block outputs ("block4": stride 8, "block10": stride 16);
    each is averaged over a `neighbourhood` x `neighbourhood` window (PatchCore's local patch
    aggregation), the coarser ones upsampled to the finest, and all concatenated. `h` and `w`
    must be multiples of the coarsest stride.
    """
    strides = block_strides()
    chosen = sorted(blocks, key=lambda name: strides[int(name.removeprefix("block"))])
    finest = strides[int(chosen[0].removeprefix("block"))]
    backbone = load_efficientnet_lite0(chosen)
    inputs = keras.Input(shape=(None, None, 1), name="layer")
    rgb = layers.Concatenate(name="gray_to_rgb")([inputs, inputs, inputs])
    x = layers.Normalization(mean=IMAGENET_MEAN, variance=IMAGENET_STD**2, name="imagenet")(rgb)
    maps = backbone(x)
    maps = maps if isinstance(maps, list | tuple) else [maps]
    pieces = []
    for name, feature in zip(chosen, maps, strict=True):
        feature = layers.AveragePooling2D(neighbourhood, strides=1, padding="same", name=f"{name}_pool")(feature)
        factor = strides[int(name.removeprefix("block"))] // finest
        if factor > 1:
            feature = layers.UpSampling2D(factor, interpolation="bilinear", name=f"{name}_up")(feature)
        pieces.append(feature)
    out = layers.Concatenate(name="patches")(pieces) if len(pieces) > 1 else pieces[0]
    return keras.Model(inputs, out, name="patch_embedding")
