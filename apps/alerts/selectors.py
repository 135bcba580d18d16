from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from apps.alerts.models import Alert, AlertRule, NotificationChannel
from apps.alerts.rules import Point, RuleParams
from apps.layers.models import Layer, PrintJob
from apps.machines.models import Machine
from ml.alert_score import POWDER_LOST

_PARAM_FIELDS = list(RuleParams.__dataclass_fields__)


def alert_rule_for(*, machine: Machine) -> RuleParams | None:
    """The machine's own rule, else the fleet default, else the built-in defaults.

    None when the rule that applies is switched off.
    """
    rule = (
        AlertRule.objects.filter(Q(machine=machine) | Q(machine__isnull=True))
        .order_by("machine_id")  # the machine's row sorts before the NULL one
        .first()
    )
    if rule is None:
        return RuleParams()
    if not rule.is_active:
        return None
    return RuleParams(**{name: getattr(rule, name) for name in _PARAM_FIELDS})


def job_recent_points(*, job: PrintJob, limit: int, up_to: int | None = None) -> list[Point]:
    """The job's newest scored layers (at index `up_to` or before, where given) as (index, alert
    score/threshold), oldest first.

    The alert score is the layer's score less what its part layout showed on the layers before
    (apps.scoring.layout_memory), or the score itself where there is none.
    """
    judged = Coalesce("current_score__alert_score", "current_score__score")
    layers = Layer.objects.filter(job=job, status=Layer.Status.SCORED, current_score__isnull=False)
    if up_to is not None:
        layers = layers.filter(index__lte=up_to)
    rows = (
        layers.order_by("-index")
        .values_list("index", judged, "current_score__threshold")[:limit]
    )
    return [
        Point(index, score / threshold if threshold else float("inf")) for index, score, threshold in reversed(rows)
    ]


def job_powder_lost(*, job: PrintJob, indexes) -> list[tuple[int, float]]:
    """(index, share of the bed) of the job's layers among `indexes` whose alert score came from
    powder lost since the previous layer (ml.alert_score), by index."""
    return list(
        Layer.objects.filter(job=job, index__in=indexes, current_score__alert_channel=POWDER_LOST)
        .order_by("index")
        .values_list("index", "current_score__powder_lost")
    )


def alert_unresolved_for_job(*, job: PrintJob) -> Alert | None:
    """The job's latest unresolved alert: the one later layers of the same defect join."""
    return Alert.objects.filter(job=job).exclude(status=Alert.Status.RESOLVED).order_by("-last_layer_index").first()


def alert_last_for_job(*, job: PrintJob) -> Alert | None:
    return Alert.objects.filter(job=job).order_by("-last_layer_index").first()


def alert_list() -> QuerySet[Alert]:
    return Alert.objects.select_related("machine", "job", "acknowledged_by", "resolved_by").prefetch_related(
        "layers", "deliveries"
    )


def channels_for(*, machine: Machine) -> QuerySet[NotificationChannel]:
    return NotificationChannel.objects.filter(Q(machine=machine) | Q(machine__isnull=True), is_active=True)
