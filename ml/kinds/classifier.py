"""A multinomial logistic regression with an L2 penalty over standardised region features."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from ml.kinds.features import FEATURE_NAMES

DEFAULT_PENALTY = 0.05  # on the weights of standardised features; keeps 5 examples a kind from overfitting


@dataclass(frozen=True)
class KindClassifier:
    """Classes, feature means and scales, weights (features x classes) and biases."""

    kinds: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray, kinds: list[str], *, penalty: float = DEFAULT_PENALTY) -> KindClassifier:
        """Fits on rows of `region_features` and their kinds; needs at least two kinds.

        >>> classifier = KindClassifier.fit(np.array([[0.0] * 13, [1.0] * 13]), ["pit", "streak"])
        """
        x = np.asarray(rows, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURE_NAMES) or len(x) != len(kinds):
            raise ValueError(f"expected {len(kinds)} rows of {len(FEATURE_NAMES)} features, got {x.shape}")
        classes = tuple(sorted(set(kinds)))
        if len(classes) < 2:
            raise ValueError("a kind classifier needs examples of at least two kinds")
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        z = (x - mean) / scale
        target = np.zeros((len(x), len(classes)))
        target[np.arange(len(x)), [classes.index(k) for k in kinds]] = 1.0
        # Each class weighs the same whatever its count, so a common kind does not drown a rare one.
        counts = Counter(kinds)
        sample_weight = np.array([len(x) / (len(classes) * counts[k]) for k in kinds])
        d, k = z.shape[1], len(classes)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[: d * k].reshape(d, k), theta[d * k :]
            logits = z @ w + b
            log_p = log_softmax(logits, axis=1)
            value = -(sample_weight * (target * log_p).sum(axis=1)).mean() + 0.5 * penalty * (w**2).sum()
            residual = (np.exp(log_p) - target) * sample_weight[:, None] / len(x)
            grad = np.concatenate([(z.T @ residual + penalty * w).ravel(), residual.sum(axis=0)])
            return float(value), grad

        result = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
        theta = result.x
        return cls(classes, mean, scale, theta[: d * k].reshape(d, k), theta[d * k :])

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(np.asarray(rows, dtype=np.float64)) - self.mean) / self.scale
        return softmax(z @ self.weights + self.bias, axis=1)

    def predict(self, features: np.ndarray) -> tuple[str, float]:
        """The likeliest kind of one region and its probability."""
        p = self.probabilities(features)[0]
        best = int(np.argmax(p))
        return self.kinds[best], float(p[best])

    def to_dict(self) -> dict:
        return {
            "kinds": list(self.kinds),
            "features": list(FEATURE_NAMES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> KindClassifier:
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ValueError("the stored classifier was fitted on other features; fit it again")
        return cls(
            tuple(data["kinds"]),
            np.array(data["mean"]),
            np.array(data["scale"]),
            np.array(data["weights"]),
            np.array(data["bias"]),
        )
