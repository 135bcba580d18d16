"""What every scorer offers, and the registry that maps a scorer name to its class.

A scorer turns preprocessed layer images into one anomaly score per image plus a heatmap.
Convention everywhere in layerwatch: a layer is anomalous when `score > threshold`.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np

from ml.preprocess import IMAGE_SIZE
from ml.training import ProgressCallback


@dataclass
class ScoreResult:
    """Per-image outputs of `Scorer.score`, all in the scorer's frame (`Scorer.input_size`)."""

    scores: np.ndarray  # (n,) float64; higher means more anomalous
    # (n, S, S) float32 >= 0; drawn in threshold units (see heatmap_threshold), or on
    # 0..heatmap_vmax where a version has no threshold
    heatmaps: np.ndarray
    reconstructions: np.ndarray  # (n, S, S) float32 in [0, 1]


class Scorer(abc.ABC):
    """Base class of all scorers.

    Subclasses set `name`, `heatmap_vmax` and `default_config`, and implement the abstract
    methods. The artifact layer stores `keras_model`, `config` and `get_state()`; `from_artifact`
    rebuilds the scorer from them.
    """

    name: ClassVar[str]
    heatmap_vmax: ClassVar[float]
    default_config: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, config: dict | None = None) -> None:
        unknown = set(config or {}) - set(self.default_config)
        if unknown:
            # A typo in a hyper-parameter name must not silently train with the default.
            raise ValueError(
                f"unknown {self.name} config keys {sorted(unknown)}; "
                f"known: {sorted(self.default_config)}"
            )
        merged = {**self.default_config, **(config or {})}
        # Round-trip through JSON so the stored config is exactly what the artifact will hold.
        self.config: dict[str, Any] = json.loads(json.dumps(merged))

    @property
    def input_size(self) -> int:
        """The side of the square frame the scorer takes layers in (ml.preprocess.preprocess's size)."""
        return IMAGE_SIZE

    def resolve_input(self, native_side: int, limit: int) -> None:  # noqa: B027 (an optional hook)
        """Settle the input size from the larger side of the machine's photos, at most `limit` px,
        before `fit`; a scorer with a fixed frame has nothing to settle."""

    @abc.abstractmethod
    def fit(
        self,
        images: np.ndarray,
        *,
        epochs: int,
        batch_size: int = 16,
        seed: int = 0,
        progress: ProgressCallback | None = None,
        verbose: bool = True,
    ) -> dict:
        """Train from scratch on good (n, S, S) float32 images, S = input_size; return a JSON-able history."""

    @abc.abstractmethod
    def score(self, images: np.ndarray, *, batch_size: int = 16) -> ScoreResult:
        """Score (n, S, S) float32 images, S = input_size."""

    @abc.abstractmethod
    def features(self, images: np.ndarray) -> np.ndarray:
        """Bottleneck activations, (n, S/8, S/8, 16): (n, 32, 32, 16) in the model frame."""

    @property
    @abc.abstractmethod
    def keras_model(self) -> keras.Model:
        """The trained network that the artifact stores as its Keras part."""

    def heatmap_threshold(self, threshold: float) -> float:
        """The heatmap value that means "at threshold", so heatmaps can be drawn in threshold units.

        The default suits scorers whose score is a statistic of heatmap pixels in the same units
        (the local scorer's is the mean of its top few pixels): a heatmap value of `threshold` there.
        """
        return float(threshold)

    def score_top_fraction(self) -> float | None:
        """The share of heatmap pixels whose mean is the score, for scorers scored that way.

        None where the score is something else (the seed's global L2): then a score cannot be
        recomputed from part of the heatmap, as layout memory (ml.layout_memory) does.
        """
        return None

    def get_state(self) -> dict[str, np.ndarray]:
        """Arrays besides the network that scoring needs (e.g. normalisation maps)."""
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what `get_state` returned; scorers without extra state accept none."""
        if state:
            raise ValueError(f"the {self.name} scorer has no state, got {sorted(state)}")

    def holds_state(self, state: dict[str, np.ndarray], keys: Iterable[str]) -> bool:
        """For `set_state`: False where `state` is empty (an artifact saved before fitting), True
        where it holds exactly `keys`; anything else is a ValueError naming both."""
        if not state:
            return False
        if set(state) != set(keys):
            raise ValueError(f"the {self.name} scorer expects state {sorted(keys)}, got {sorted(state)}")
        return True

    @classmethod
    @abc.abstractmethod
    def from_artifact(
        cls, *, model: keras.Model, config: dict, state: dict[str, np.ndarray]
    ) -> Scorer:
        """Rebuild a fitted scorer from what `get_state`, `config` and `keras_model` gave."""

    def save(self, path: Path) -> None:
        from ml.artifacts import save_scorer

        save_scorer(self, path)

    @classmethod
    def load(cls, path: Path) -> Scorer:
        from ml.artifacts import load_scorer

        scorer = load_scorer(path)
        if not isinstance(scorer, cls):
            raise TypeError(f"{path} holds a {scorer.name!r} scorer, not {cls.name!r}")
        return scorer


SCORERS: dict[str, type[Scorer]] = {}
DEFAULT_SCORER = "combined"  # chosen by bench/generalisation/run.py; "seed" stays for comparison


def register(cls: type[Scorer]) -> type[Scorer]:
    """Class decorator: make a scorer loadable by its `name`."""
    existing = SCORERS.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"scorer name {cls.name!r} is already taken by {existing.__qualname__}")
    SCORERS[cls.name] = cls
    return cls


def get_scorer_class(name: str) -> type[Scorer]:
    try:
        return SCORERS[name]
    except KeyError:
        known = ", ".join(sorted(SCORERS)) or "none registered"
        raise KeyError(f"unknown scorer {name!r}; known scorers: {known}") from None
