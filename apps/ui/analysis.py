"""Scoring uploaded images on the fly, and drawing a model's 16 bottleneck feature maps. Nothing
is stored: this is for looking, not for the record."""

import base64
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from apps.layers.imaging import image_inspect, image_to_array
from apps.scoring import model_cache
from apps.scoring.models import ModelVersion
from apps.scoring.rendering import grayscale_png
from apps.scoring.verdicts import images_judge
from ml.preprocess import preprocess
from ml.regions import Region

FEATURE_TILE = 64  # each 32x32 map drawn at twice its size


@dataclass
class Analysis:
    name: str
    score: float
    threshold: float
    anomalous: bool
    heatmap: bytes  # in threshold units: 1.0 (mid-scale) is at threshold
    regions: list[Region]
    reconstruction: bytes
    features: list[bytes]
    input: bytes


def _feature_tiles(maps: np.ndarray) -> list[np.ndarray]:
    """(h, w, 16) activations -> 16 uint8 tiles of at most 32 x 32, each scaled to its own range."""
    step = max(1, maps.shape[0] // 32)
    maps = maps[: maps.shape[0] // step * step, : maps.shape[1] // step * step]
    # A full-resolution scorer's maps are larger: each tile pixel keeps the strongest it covers.
    maps = maps.reshape(maps.shape[0] // step, step, maps.shape[1] // step, step, -1).max(axis=(1, 3))
    tiles = []
    for k in range(maps.shape[-1]):
        channel = maps[..., k].astype(np.float32)
        low, high = float(channel.min()), float(channel.max())
        scaled = (channel - low) / (high - low) if high > low else np.zeros_like(channel)
        tiles.append((scaled * 255).astype(np.uint8))
    return tiles


def _png(array: np.ndarray, size: int | None = None) -> bytes:
    image = Image.fromarray(array)
    if size:
        image = image.resize((size, size), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def features_grid_png(*, version: ModelVersion, image: np.ndarray) -> bytes:
    """The 16 feature maps of one decoded image, as the version's scorer takes it, as a 4x4 sprite
    with 2px gaps."""
    scorer = model_cache.scorer_for(version)
    maps = scorer.features(preprocess(image, scorer.input_size)[np.newaxis])[0]
    tile, gap = FEATURE_TILE, 2
    sheet = np.full((4 * tile + 3 * gap, 4 * tile + 3 * gap), 255, dtype=np.uint8)
    for k, small in enumerate(_feature_tiles(maps)):
        row, col = divmod(k, 4)
        big = np.kron(small, np.ones((tile // small.shape[0], tile // small.shape[1]), dtype=np.uint8))
        sheet[
            row * (tile + gap) : row * (tile + gap) + tile,
            col * (tile + gap) : col * (tile + gap) + tile,
        ] = big
    return _png(sheet)


def images_analyze(*, version: ModelVersion, files: list[tuple[str, bytes]]) -> list[Analysis]:
    """Scores uploaded (name, bytes) with a model version. ImageRejected/ImageTooLarge bubble up."""
    for _name, data in files:
        image_inspect(data)
    scorer = model_cache.scorer_for(version)
    arrays = np.stack([preprocess(image_to_array(data), scorer.input_size) for _name, data in files])
    # Drawn as tiles below and, with a supervised head, needed by the verdict too: computed once.
    features = scorer.features(arrays)
    verdicts = images_judge(version=version, images=arrays, features=features)
    return [
        Analysis(
            name=name,
            score=verdict.score,
            threshold=verdict.threshold,
            anomalous=verdict.anomalous,
            heatmap=verdict.heatmap,
            regions=verdict.regions,
            reconstruction=verdict.reconstruction,
            features=[_png(t, FEATURE_TILE) for t in _feature_tiles(features[i])],
            input=grayscale_png(arrays[i]),
        )
        for i, ((name, _handle), verdict) in enumerate(zip(files, verdicts, strict=True))
    ]


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
