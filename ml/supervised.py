"""A small supervised head on top of an unsupervised scorer, for machines with labeled defects.

The scorer stays a black box: the head reads what it already returns (`ScoreResult` and the
bottleneck `features`) and turns each layer into a dozen numbers (score, heatmap tail and area,
shape of the hottest region, distance of the bottleneck embedding to the training layers), then
a class-weighted, L2-regularised logistic regression fitted in numpy/scipy gives the probability
that the layer is defective. `LabelHead.to_dict()` is JSON-able and small (tens of kB).

Operators' labels are few, so everything is chosen to be hard to overfit: standardised features,
a strong ridge penalty on all but the score itself, balanced class weights, and the alarm
threshold picked by the F1 sweep on cross-validated outputs, never on those it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ml.calibration import calibrate_f1_sweep
from ml.scorers.base import ScoreResult

FEATURES = (
    "log_score",
    "top_0.01%",
    "top_0.1%",
    "top_1%",
    "area_q99",
    "area_q99.9",
    "area_q99.99",
    "top_spread",
    "top_elongation",
    "knn_distance",
)
TOP_FRACTIONS = (1e-4, 1e-3, 1e-2)
LEVEL_QUANTILES = (0.99, 0.999, 0.9999)  # of good training layers' heatmap pixels
SPREAD_FRACTION = 1e-3  # the hottest 0.1% of pixels make the "top region"
KNN = 3
MAX_REFERENCE = 128
DECIMALS = 5  # stored arrays are rounded at fit time, so to_dict/from_dict round-trips exactly
# Fitting refuses fewer labels than this per class; cross-validation needs a few per fold.
MIN_PER_CLASS = 3
# Ridge penalties on standardised features. The score (first feature) is barely penalised, the
# rest strongly: with few labels the head stays close to a monotone recalibration of the score
# and the other features only enter where the labels insist (ml/README.md has the measurement).
DEFAULT_L2 = 10.0
SCORE_L2 = 0.1
DEFAULT_FOLDS = 5


class NotEnoughLabels(ValueError):
    pass


def pool_embeddings(features: np.ndarray) -> np.ndarray:
    """(n, h, w, c) bottleneck activations -> (n, 2c): spatial mean and max of each channel."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 4:
        raise ValueError(f"expected (n, h, w, c) bottleneck features, got shape {features.shape}")
    return np.concatenate([features.mean(axis=(1, 2)), features.max(axis=(1, 2))], axis=1)


def _top_means(flat: np.ndarray, fractions: tuple[float, ...]) -> np.ndarray:
    k_max = max(1, round(max(fractions) * flat.shape[1]))
    top = np.partition(flat, flat.shape[1] - k_max, axis=1)[:, -k_max:]
    ordered = -np.sort(-top, axis=1)  # descending
    columns = [ordered[:, : max(1, round(f * flat.shape[1]))].mean(axis=1) for f in fractions]
    return np.stack(columns, axis=1)


def _top_shape(heatmaps: np.ndarray) -> np.ndarray:
    """(n, 2): log spread (px) of the hottest pixels and log ratio of their principal axes."""
    n, height, width = heatmaps.shape
    k = max(2, round(SPREAD_FRACTION * height * width))
    flat = heatmaps.reshape(n, -1)
    top = np.argpartition(flat, flat.shape[1] - k, axis=1)[:, -k:]
    coords = np.stack([top // width, top % width], axis=2).astype(np.float64)  # (n, k, 2)
    centred = coords - coords.mean(axis=1, keepdims=True)
    covariance = np.einsum("nki,nkj->nij", centred, centred) / k
    eigen = np.sqrt(np.maximum(np.linalg.eigvalsh(covariance), 0.0))  # ascending
    spread = np.log1p(np.sqrt((eigen**2).sum(axis=1)))
    elongation = np.log((eigen[:, 1] + 1.0) / (eigen[:, 0] + 1.0))
    return np.stack([spread, elongation], axis=1)


@dataclass
class FeatureSpace:
    """What the features are measured against: the machine's good training layers."""

    levels: np.ndarray  # (3,) heatmap levels for the area features
    embedding_scale: np.ndarray  # (d,) per-dimension scale of the pooled embeddings
    reference: np.ndarray  # (r, d) scaled pooled embeddings of up to MAX_REFERENCE training layers

    @classmethod
    def fit(cls, result: ScoreResult, features: np.ndarray, *, seed: int = 0) -> FeatureSpace:
        """From the scorer's outputs on good training layers."""
        heatmaps = np.asarray(result.heatmaps, dtype=np.float64)
        levels = np.quantile(heatmaps.ravel(), LEVEL_QUANTILES)
        pooled = pool_embeddings(features)
        scale = np.round(pooled.std(axis=0), DECIMALS)
        scale = np.where(scale > 1e-4, scale, 1.0)  # dead or constant channels stay unscaled
        if len(pooled) > MAX_REFERENCE:
            keep = np.sort(np.random.default_rng(seed).choice(len(pooled), MAX_REFERENCE, replace=False))
            pooled = pooled[keep]
        return cls(
            levels=np.round(levels, DECIMALS),
            embedding_scale=scale,
            reference=np.round(pooled / scale, DECIMALS - 1),
        )

    def transform(self, result: ScoreResult, features: np.ndarray) -> np.ndarray:
        """(n, len(FEATURES)) float64 features of scored layers."""
        heatmaps = np.asarray(result.heatmaps, dtype=np.float64)
        n = len(heatmaps)
        flat = heatmaps.reshape(n, -1)
        scores = np.asarray(result.scores, dtype=np.float64)
        log_score = np.sign(scores) * np.log1p(np.abs(scores))
        tails = np.log1p(np.maximum(_top_means(flat, TOP_FRACTIONS), 0.0))
        areas = np.log1p(np.stack([(flat > level).sum(axis=1) for level in self.levels], axis=1))
        shape = _top_shape(heatmaps)
        pooled = pool_embeddings(features) / self.embedding_scale
        distances = np.sqrt(((pooled[:, None, :] - self.reference[None, :, :]) ** 2).sum(axis=2))
        k = min(KNN, self.reference.shape[0])
        knn = np.sort(distances, axis=1)[:, :k].mean(axis=1) / np.sqrt(pooled.shape[1])
        return np.column_stack([log_score, tails, areas, shape, np.log1p(knn)])


@dataclass
class Logistic:
    """Standardised logistic regression: log-odds = intercept + coef . (x - mean) / scale."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, l2: float | np.ndarray = DEFAULT_L2) -> Logistic:
        """Class-weighted (each class weighs half) log-loss plus sum(l2/2 coef^2), by L-BFGS.

        `l2` is one penalty for every coefficient or one per feature; the intercept is free.
        """
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y).astype(bool)
        if y.all() or not y.any():
            raise NotEnoughLabels("a logistic regression needs both good and defective layers")
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale = np.where(scale > 1e-8, scale, 1.0)
        z = (x - mean) / scale
        n = len(y)
        weights = np.where(y, n / (2 * y.sum()), n / (2 * (~y).sum()))
        sign = np.where(y, 1.0, -1.0)
        l2 = np.broadcast_to(np.asarray(l2, dtype=np.float64), (x.shape[1],))

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            margin = sign * (z @ params[1:] + params[0])
            value = weights @ np.logaddexp(0.0, -margin) + 0.5 * (l2 * params[1:]) @ params[1:]
            slope = -weights * sign * _sigmoid(-margin)
            gradient = np.concatenate([[slope.sum()], z.T @ slope + l2 * params[1:]])
            return float(value), gradient

        found = optimize.minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
        params = np.round(found.x, DECIMALS + 1)
        return cls(coef=params[1:], intercept=float(params[0]), mean=np.round(mean, DECIMALS + 1),
                   scale=np.round(scale, DECIMALS + 1))

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + ((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.coef


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -values))


def _check_labels(y: np.ndarray) -> None:
    n_bad, n_good = int(y.sum()), int((~y).sum())
    if min(n_bad, n_good) < MIN_PER_CLASS:
        raise NotEnoughLabels(
            f"a supervised head needs at least {MIN_PER_CLASS} good and {MIN_PER_CLASS} defective "
            f"labeled layers, got {n_good} good and {n_bad} defective"
        )


def head_penalties(n_features: int, l2: float = DEFAULT_L2) -> np.ndarray:
    """Per-feature ridge penalties of the head: SCORE_L2 on the score, `l2` on the others."""
    return np.concatenate([[SCORE_L2], np.full(n_features - 1, l2)])


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index per sample, each class spread evenly over the folds."""
    y = np.asarray(y).astype(bool)
    fold = np.empty(len(y), dtype=int)
    rng = np.random.default_rng(seed)
    for cls in (False, True):
        members = rng.permutation(np.flatnonzero(y == cls))
        fold[members] = np.arange(len(members)) % folds
    return fold


def cross_val_log_odds(
    x: np.ndarray, y: np.ndarray, *, l2: float = DEFAULT_L2, folds: int = DEFAULT_FOLDS, seed: int = 0
) -> np.ndarray:
    """Out-of-fold log-odds: each sample scored by a head fitted without its fold."""
    y = np.asarray(y).astype(bool)
    _check_labels(y)
    folds = max(2, min(folds, int(y.sum()), int((~y).sum())))
    fold = stratified_folds(y, folds, seed)
    out = np.empty(len(y))
    penalties = head_penalties(x.shape[1], l2)
    for f in range(folds):
        test = fold == f
        out[test] = Logistic.fit(x[~test], y[~test], l2=penalties).log_odds(x[test])
    return out


@dataclass
class LabelHead:
    """Feature space + logistic regression + threshold; `predict` gives P(defective)."""

    space: FeatureSpace
    model: Logistic
    threshold: float  # on the probability; a layer is anomalous when its probability > threshold

    def predict(self, result: ScoreResult, features: np.ndarray) -> np.ndarray:
        return self.probability(self.space.transform(result, features))

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(defective) of layers already measured in the head's feature space."""
        return _sigmoid(self.model.log_odds(x))

    def to_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "levels": self.space.levels.tolist(),
            "embedding_scale": self.space.embedding_scale.tolist(),
            "reference": self.space.reference.tolist(),
            "coef": self.model.coef.tolist(),
            "intercept": self.model.intercept,
            "mean": self.model.mean.tolist(),
            "scale": self.model.scale.tolist(),
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: dict) -> LabelHead:
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError(f"head was fitted on features {data.get('features')}, this code computes {FEATURES}")
        space = FeatureSpace(
            levels=np.asarray(data["levels"], dtype=np.float64),
            embedding_scale=np.asarray(data["embedding_scale"], dtype=np.float64),
            reference=np.asarray(data["reference"], dtype=np.float64),
        )
        model = Logistic(
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
        )
        return cls(space=space, model=model, threshold=float(data["threshold"]))


@dataclass
class HeadFit:
    head: LabelHead
    cv_probabilities: np.ndarray  # out-of-fold P(defective) of the labeled layers
    cv_f1: float  # F1 of the swept threshold on those (optimistic by the one chosen threshold)


def fit_head(
    space: FeatureSpace,
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = DEFAULT_L2,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> HeadFit:
    """Fit on all labeled layers; the threshold comes from the F1 sweep on out-of-fold outputs."""
    y = np.asarray(y).astype(bool)
    probabilities = _sigmoid(cross_val_log_odds(x, y, l2=l2, folds=folds, seed=seed))
    sweep = calibrate_f1_sweep(probabilities, y.astype(int))
    model = Logistic.fit(x, y, l2=head_penalties(x.shape[1], l2))
    head = LabelHead(space=space, model=model, threshold=float(sweep.threshold))
    return HeadFit(head=head, cv_probabilities=probabilities, cv_f1=float(sweep.details["f1"]))
