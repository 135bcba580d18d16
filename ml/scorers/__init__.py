"""Scorers and their registry. Importing this package registers every built-in scorer."""

from ml.artifacts import load_scorer
from ml.scorers import seed as _seed  # noqa: F401  (registers "seed")
from ml.scorers.base import (
    DEFAULT_SCORER,
    SCORERS,
    Scorer,
    ScoreResult,
    get_scorer_class,
    register,
)

__all__ = [
    "DEFAULT_SCORER",
    "SCORERS",
    "ScoreResult",
    "Scorer",
    "get_scorer_class",
    "load_scorer",
    "register",
]
from ml.scorers import combined as _combined  # noqa: E402, F401  (registers "combined")
from ml.scorers import local as _local  # noqa: E402, F401  (registers "local")
from ml.scorers import patchcore as _patchcore  # noqa: E402, F401  (registers "patchcore")
