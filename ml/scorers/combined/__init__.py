"""The "combined" scorer: the local scorer's residual and PatchCore's patch distances, one map (README.md)."""

from ml.scorers.combined.scorer import CombinedScorer

__all__ = ["CombinedScorer"]
