"""Layer groups of a model version: found and calibrated at training, looked up at scoring."""

from dataclasses import dataclass

import numpy as np

from apps.scoring.models import LayerGroup, ModelVersion
from ml.calibration import calibrate
from ml.groups import EMBEDDING, LayerGroups, fit_groups, min_calibration_layers

MAX_GROUPS = 8
MIN_GROUP_SIZE = 5


@dataclass
class GroupedScores:
    """Scores of the calibration layers with the group each layer falls in."""

    scores: np.ndarray
    labels: np.ndarray  # 0 good, 1 defective
    groups: np.ndarray


def layer_groups_fit(*, embeddings: np.ndarray, seed: int) -> LayerGroups:
    return fit_groups(embeddings, max_groups=MAX_GROUPS, min_group_size=MIN_GROUP_SIZE, seed=seed)


def layer_groups_build(
    *,
    groups: LayerGroups,
    train_groups: np.ndarray,
    calibration: GroupedScores,
    global_threshold: float,
    target_fpr: float,
) -> list[LayerGroup]:
    """Unsaved LayerGroup rows, each with its own threshold or, lacking layers, the global one."""
    needed = min_calibration_layers(target_fpr)
    rows = []
    for index in range(groups.n_groups):
        mine = calibration.groups == index
        n_good = int((mine & (calibration.labels == 0)).sum())
        row = LayerGroup(
            index=index,
            centroid=[round(float(v), 5) for v in groups.centroids[index]],
            n_train=int((train_groups == index).sum()),
            n_holdout=n_good,
        )
        if n_good >= needed:
            result = calibrate(calibration.scores[mine], calibration.labels[mine], target_fpr=target_fpr)
            row.threshold, row.threshold_source = float(result.threshold), "group"
            row.calibration_method = result.method
            row.calibration = {"embedding": groups.method, **result.details}
        else:
            row.threshold, row.threshold_source = float(global_threshold), "global"
            row.calibration = {
                "embedding": groups.method,
                "note": f"{n_good} held-out good layers, {needed} needed for a threshold of its own",
            }
        rows.append(row)
    return rows


def layer_groups_for(*, version: ModelVersion) -> tuple[LayerGroups, list[LayerGroup]] | None:
    """The version's groups as a classifier and as rows, or None for a version without groups."""
    rows = list(version.layer_groups.order_by("index"))
    if not rows:
        return None
    centroids = np.asarray([row.centroid for row in rows], dtype=np.float32)
    return LayerGroups(centroids=centroids, method=rows[0].calibration.get("embedding", EMBEDDING)), rows


def layer_groups_assign(*, version: ModelVersion, embeddings: np.ndarray) -> list[tuple[int | None, float]]:
    """(group index, threshold) for each layer, from its ml.groups.embed_layers embedding."""
    found = layer_groups_for(version=version)
    if found is None:
        return [(None, float(version.threshold or 0.0))] * len(embeddings)
    groups, rows = found
    return [(rows[i].index, rows[i].threshold) for i in groups.assign(embeddings)]
