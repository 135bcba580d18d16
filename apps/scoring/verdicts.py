"""Judging preprocessed layer images with a model version: the one place a score meets its threshold.

Scoring workers store what this returns; the Analyze page shows it without storing anything.
"""

from dataclasses import dataclass

import numpy as np

from apps.scoring import model_cache
from apps.scoring.layer_groups import layer_groups_assign
from apps.scoring.models import ModelVersion
from apps.scoring.rendering import grayscale_png, heatmap_render
from ml.drift import DriftCalibration
from ml.groups import embed_layers
from ml.preprocess import model_frame
from ml.regions import Region


@dataclass
class Verdict:
    score: float
    threshold: float
    group: int | None
    anomalous: bool
    heatmap: bytes  # PNG in threshold units: 1.0 (mid-scale) is at the layer's group threshold
    regions: list[Region]
    reconstruction: bytes  # PNG
    heatmap_values: np.ndarray  # (S, S) float32 in the scorer's units, in the scorer's frame
    embedding: np.ndarray  # ml.groups.embed_layers: the layer's group, and its layout for alerts
    model_image: np.ndarray  # (256, 256) the layer in the model frame, for the alert channels
    # The share of heatmap pixels whose mean is the score; None where the score is not that
    # (the seed scorer, or a supervised head's probability).
    top_fraction: float | None
    # The threshold calibrated at training, before it followed the machine's recent layers.
    trained_threshold: float | None = None


def images_judge(
    *,
    version: ModelVersion,
    images: np.ndarray,
    features: np.ndarray | None = None,
    history: list[tuple[int, float]] | None = None,
    keys: list[int] | None = None,
) -> list[Verdict]:
    """Score (n, S, S) images (S: the scorer's input_size) with the version's scorer, its head if it
    has one, and its groups.

    `features` are the scorer's bottleneck features of `images`, for a caller that has them already.
    `history`: (arrival key, ratio of score over trained threshold) of the machine's layers judged
    before, and `keys` the images' arrival keys. Given, each layer's threshold follows the drift of
    the layers that arrived before it (ml.drift), those among `images` included; omitted, the
    trained threshold stands (the Analyze page, which judges one image out of any sequence).
    """
    scorer = model_cache.scorer_for(version)
    result = scorer.score(images)
    small = model_frame(images)
    embeddings = embed_layers(small)
    grouped = layer_groups_assign(version=version, embeddings=embeddings)
    # With a supervised head the score is its P(defective), judged against one global head
    # threshold; the groups' thresholds (in the scorer's units) then only scale the heatmap.
    head = model_cache.head_for(version)
    if head is not None and features is None:
        features = scorer.features(images)
    scores = result.scores if head is None else head.predict(result, features)
    top_fraction = scorer.score_top_fraction() if head is None else None
    trained = [group_threshold if head is None else head.threshold for _, group_threshold in grouped]
    ratios = [float(score) / t if t else float("inf") for score, t in zip(scores, trained, strict=True)]
    drift = DriftCalibration.from_dict((version.metrics or {}).get("drift"))
    follow = [1.0] * len(ratios) if drift is None or history is None else drift.judge(ratios, keys, history)
    verdicts = []
    for i, (group, group_threshold) in enumerate(grouped):
        threshold = trained[i] * follow[i]
        # Drawn against the threshold this layer was judged by, so 1.0 means "at it".
        heatmap, regions = heatmap_render(result.heatmaps[i], scorer=scorer, threshold=group_threshold * follow[i])
        verdicts.append(
            Verdict(
                score=float(scores[i]),
                threshold=float(threshold),
                group=group,
                anomalous=bool(threshold and scores[i] > threshold),
                heatmap=heatmap,
                regions=regions,
                reconstruction=grayscale_png(result.reconstructions[i]),
                heatmap_values=result.heatmaps[i],
                embedding=embeddings[i],
                model_image=small[i],
                top_fraction=top_fraction,
                trained_threshold=float(trained[i]),
            )
        )
    return verdicts


def verdict_anomalous(*, verdict: Verdict, alert_score: float | None) -> bool:
    """The layer's one verdict: the score the alert rules judge (its alert score where the alert
    channels gave one, else the score) above the threshold it was judged against."""
    judged = verdict.score if alert_score is None else alert_score
    return bool(verdict.threshold and judged > verdict.threshold)
