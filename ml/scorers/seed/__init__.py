"""The "seed" scorer: the 2019 prototype's autoencoder and global L2 score (README.md)."""

from ml.scorers.seed.scorer import SeedScorer

__all__ = ["SeedScorer"]
