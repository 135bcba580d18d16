"""Reads behind the operator pages: the labeling queue, the fleet, a job's timeline."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Exists, F, FloatField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Abs, Cast
from django.utils import timezone

from apps.alerts.models import Alert
from apps.layers.models import Label, LabelValue, Layer, PrintJob
from apps.machines.models import Machine
from apps.scoring.models import ModelVersion

QUEUE_MODES = {
    "uncertainty": "Closest to the threshold",
    "score": "Highest score first",
    "sequential": "Sequential by job",
    "alerts": "Alerts to review",
}
UNRESOLVED = [Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED]


def _ratio():
    return Cast(F("current_score__score"), FloatField()) / F("current_score__threshold")


def queue_candidates(*, mode: str, user, machine: Machine | None = None) -> QuerySet[Layer]:
    """Unlabeled layers that nobody else holds, in the order the mode asks for."""
    from apps.ui.models import LabelLock

    held_by_others = LabelLock.objects.filter(layer=OuterRef("pk"), expires_at__gt=timezone.now()).exclude(user=user)
    layers = Layer.objects.filter(label="").exclude(Exists(held_by_others))
    if machine is not None:
        layers = layers.filter(machine=machine)
    if mode == "sequential":
        return layers.order_by("job_id", "index")
    if mode == "alerts":
        in_alert = Alert.layers.through.objects.filter(layer_id=OuterRef("pk"), alert__status__in=UNRESOLVED)
        return layers.filter(Exists(in_alert)).order_by("-job_id", "index")
    scored = layers.filter(
        status=Layer.Status.SCORED,
        current_score__model_version__status=ModelVersion.Status.ACTIVE,
        current_score__threshold__gt=0,
    ).annotate(ratio=_ratio())
    if mode == "score":
        return scored.order_by("-ratio", "pk")
    return scored.annotate(uncertainty=Abs(F("ratio") - 1.0)).order_by("uncertainty", "pk")


def labeler_stats(*, user) -> dict:
    """Labels in the last hour, and how often this person's good/defective agreed with the model."""
    now = timezone.now()
    mine = Label.objects.filter(user=user, source=Label.Source.OPERATOR)
    verdicts = mine.filter(
        created_at__gte=now - timedelta(days=1),
        value__in=[LabelValue.GOOD, LabelValue.DEFECTIVE],
        layer__current_score__isnull=False,
    )
    agree = Q(value=LabelValue.DEFECTIVE, layer__current_score__anomalous=True) | Q(
        value=LabelValue.GOOD, layer__current_score__anomalous=False
    )
    counts = verdicts.aggregate(total=Count("pk"), agreed=Count("pk", filter=agree))
    last_hour = mine.filter(created_at__gte=now - timedelta(hours=1)).count()
    total = counts["total"]
    return {
        "labels_last_hour": last_hour,
        "compared": total,
        "agreement": round(counts["agreed"] / total, 3) if total else None,
    }


@dataclass
class FleetCard:
    machine: Machine
    model: ModelVersion | None
    job: PrintJob | None
    latest: Layer | None
    open_alerts: int = 0

    @property
    def status(self) -> str:
        if self.model is None:
            return "not watching"
        anomalous = getattr(self.job, "anomalous_count", 0) if self.job else 0
        latest_bad = bool(self.latest and self.latest.current_score and self.latest.current_score.anomalous)
        if self.open_alerts or (latest_bad and anomalous >= 3):
            return "failing"
        if latest_bad or anomalous:
            return "warning"
        return "ok"

    @property
    def progress(self) -> int | None:
        if not self.job or not self.job.expected_layers:
            return None
        return min(100, round(100 * self.job.layer_count / self.job.expected_layers))


def fleet_cards() -> list[FleetCard]:
    """One card per machine in five queries, however many machines and layers there are."""
    latest_job = PrintJob.objects.filter(machine=OuterRef("pk")).order_by(
        F("last_layer_at").desc(nulls_last=True), "-pk"
    )
    latest_layer = Layer.objects.filter(machine=OuterRef("pk")).order_by("-received_at", "-pk")
    machines = list(
        Machine.objects.order_by("name").annotate(
            latest_job_id=Subquery(latest_job.values("pk")[:1]),
            latest_layer_id=Subquery(latest_layer.values("pk")[:1]),
        )
    )
    models = {
        mv.machine_id: mv for mv in ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE, machine__in=machines)
    }
    jobs = PrintJob.objects.filter(pk__in=[m.latest_job_id for m in machines if m.latest_job_id])
    jobs = jobs.annotate(
        layer_count=Count("layers"),
        anomalous_count=Count("layers", filter=Q(layers__current_score__anomalous=True)),
    ).in_bulk()
    layers = Layer.objects.select_related("current_score").in_bulk(
        [m.latest_layer_id for m in machines if m.latest_layer_id]
    )
    alerts = dict(
        Alert.objects.filter(status=Alert.Status.OPEN)
        .values("machine_id")
        .annotate(n=Count("pk"))
        .values_list("machine_id", "n")
    )
    return [
        FleetCard(
            machine=m,
            model=models.get(m.pk),
            job=jobs.get(m.latest_job_id),
            latest=layers.get(m.latest_layer_id),
            open_alerts=alerts.get(m.pk, 0),
        )
        for m in machines
    ]


MAX_TIMELINE_POINTS = 2000


def job_timeline(*, job: PrintJob) -> list[dict]:
    """(index, score, threshold, anomalous, id, layer group) per scored layer; thinned to the highest scores
    per bucket when a job has more layers than a chart can show."""
    rows = list(
        Layer.objects.filter(job=job, current_score__isnull=False)
        .order_by("index")
        .values_list(
            "pk",
            "index",
            "current_score__score",
            "current_score__threshold",
            "current_score__anomalous",
            "current_score__layer_group",
        )
    )
    points = [
        {"id": pk, "index": i, "score": s, "threshold": t, "anomalous": a, "group": g}
        for pk, i, s, t, a, g in rows
    ]
    if len(points) <= MAX_TIMELINE_POINTS:
        return points
    size = -(-len(points) // MAX_TIMELINE_POINTS)
    return [max(points[i : i + size], key=lambda p: p["score"]) for i in range(0, len(points), size)]


INBOX_TABS = {
    Alert.Status.OPEN: "Open",
    Alert.Status.ACKNOWLEDGED: "Acknowledged",
    Alert.Status.RESOLVED: "Resolved",
}


def alert_inbox(*, status: str, machine: Machine | None = None) -> QuerySet[Alert]:
    """One tab of the alerts inbox; layers come in one prefetch query whatever the page size."""
    alerts = (
        Alert.objects.filter(status=status)
        .select_related("machine", "job", "acknowledged_by", "resolved_by")
        .prefetch_related(Prefetch("layers", queryset=Layer.objects.order_by("index")))
    )
    if machine is not None:
        alerts = alerts.filter(machine=machine)
    return alerts.order_by("-opened_at", "-id")


def alert_counts(*, machine: Machine | None = None) -> dict[str, int]:
    """Alerts per status, for the inbox tabs."""
    alerts = Alert.objects.all() if machine is None else Alert.objects.filter(machine=machine)
    counts = dict(alerts.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in INBOX_TABS}
