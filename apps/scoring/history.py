"""What a layer's threshold follows: the ratios of its machine's layers that arrived before it."""

from apps.layers.models import LabelValue, Layer
from apps.scoring.models import LayerScore, ModelVersion
from ml.drift import WINDOW


def drift_history(*, version: ModelVersion, before: int, extra: int = 0) -> list[tuple[int, float]]:
    """(layer id, score over trained threshold) of the version's latest layers with ids below
    `before`, oldest first: WINDOW of them plus `extra` for the layers scored alongside. Layers an
    operator labeled defective are left out: they say nothing about where good layers lie."""
    rows = (
        LayerScore.objects.filter(model_version=version, layer_id__lt=before, trained_threshold__gt=0)
        .exclude(layer__label=LabelValue.DEFECTIVE)
        .order_by("-layer_id")
        .values_list("layer_id", "score", "trained_threshold")[: WINDOW + extra]
    )
    return [(layer_id, score / trained) for layer_id, score, trained in reversed(rows)]


# A backlog deeper than this is caught up by the layers' own messages, oldest first.
MAX_PREDECESSORS = 256


def queued_before(*, machine_id: int, before: int, exclude: set[int]) -> list[Layer]:
    """The machine's layers sent for scoring and still queued that arrived before `before` (the
    latest MAX_PREDECESSORS): scored first, so that no layer is judged against a history that is
    missing only because it is still in the queue. Layers stored without being sent (an archive
    imported with --no-score) are not."""
    latest = (
        Layer.objects.select_related("machine", "current_score")
        .filter(machine_id=machine_id, status=Layer.Status.QUEUED, enqueued_at__isnull=False, pk__lt=before)
        .exclude(pk__in=exclude)
        .order_by("-pk")[:MAX_PREDECESSORS]
    )
    return sorted(latest, key=lambda layer: layer.pk)
