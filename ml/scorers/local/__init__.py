"""The "local" scorer: local, normalised reconstruction error (README.md)."""

from ml.scorers.local.scorer import LocalScorer

__all__ = ["LocalScorer"]
