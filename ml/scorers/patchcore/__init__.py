"""The "patchcore" scorer: nearest good patch in a pretrained backbone's features (README.md)."""

from ml.scorers.patchcore.scorer import PatchCoreScorer

__all__ = ["PatchCoreScorer"]
