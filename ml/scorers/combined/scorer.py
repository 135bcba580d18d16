"""The local scorer's residual and PatchCore's patch distances, added into one map.

The two see different defects. The local scorer's residual, at the camera's detail, finds what is
small and sharp (pits, spatter, a super-elevated edge). Patch features of a pretrained backbone
find what changes the powder's texture over an area, which a reconstruction follows and a
residual therefore misses (incomplete spreading, a streak across the bed). Both maps are in
standard deviations of what the machine's good layers show at that place, so they add: a pixel's
evidence is the sum of the two (PatchCore's weighted by `patchcore_weight`). The score is the top
mean of that map, so heatmap and score agree as for `local`.
"""

from __future__ import annotations

import numpy as np

from ml.scorers.base import register
from ml.scorers.local.scorer import STATE_KEYS as LOCAL_STATE
from ml.scorers.local.scorer import LocalScorer
from ml.scorers.patchcore.scorer import PatchCoreScorer
from ml.training import ProgressCallback

_PATCHCORE_STATE = {"patchcore_memory_bank": "memory_bank", "patchcore_distance_scale": "distance_scale"}


@register
class CombinedScorer(LocalScorer):
    name = "combined"
    default_config = {
        **LocalScorer.default_config,
        # PatchCore's own config (PatchCoreScorer.default_config), over its defaults. Its
        # input_size is its own: it sees the layer at 256 px whatever the local scorer's resolution.
        "patchcore": {},
        "patchcore_weight": 1.0,  # PatchCore's map's share of the sum
    }

    def __init__(self, config: dict | None = None) -> None:
        super().__init__(config)
        self._patchcore = PatchCoreScorer(self.config["patchcore"])

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
        history = super().fit(images, epochs=epochs, batch_size=batch_size, seed=seed, progress=progress,
                              verbose=verbose)
        history["patchcore"] = self._patchcore.fit(self.check(images), epochs=epochs, seed=seed, verbose=verbose)
        return history

    def anomaly_maps(self, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        local, reconstructions = super().anomaly_maps(images, batch_size)
        patches = self._patchcore.distance_maps(images)
        return local + float(self.config["patchcore_weight"]) * patches, reconstructions

    def get_state(self) -> dict[str, np.ndarray]:
        state = super().get_state()
        patch = self._patchcore.get_state()
        if not state or not patch:
            return {}
        return {**state, **{key: patch[inner] for key, inner in _PATCHCORE_STATE.items()}}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        if not self.holds_state(state, [*LOCAL_STATE, *_PATCHCORE_STATE]):
            return
        super().set_state({key: state[key] for key in LOCAL_STATE})
        self._patchcore.set_state({inner: state[key] for key, inner in _PATCHCORE_STATE.items()})
