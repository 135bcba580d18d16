"""Is layerwatch watching? Stalled printers, a scoring backlog and live scoring workers."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.layers.models import Layer, PrintJob
from apps.monitoring.heartbeats import workers_alive
from apps.monitoring.models import SystemAlert, WorkerHeartbeat


def jobs_stalled(*, now: datetime | None = None) -> QuerySet[PrintJob]:
    """Running jobs of active machines whose last layer came longer ago than the stall time.

    A job that has all its expected layers, or whose machine has started a newer job since, is
    not stalled; one silent for longer than the forget time counts as abandoned, not stalled.
    """
    now = now or timezone.now()
    newer = PrintJob.objects.filter(machine=OuterRef("machine"), started_at__gt=OuterRef("started_at"))
    return (
        PrintJob.objects.filter(
            status=PrintJob.Status.RUNNING,
            machine__is_active=True,
            last_layer_at__lt=now - timedelta(seconds=settings.LAYERWATCH_STALL_AFTER_SECONDS),
            last_layer_at__gte=now - timedelta(seconds=settings.LAYERWATCH_STALL_FORGET_AFTER_SECONDS),
        )
        .exclude(Exists(newer))
        .annotate(layer_count=Count("layers"))
        .exclude(Q(expected_layers__isnull=False) & Q(layer_count__gte=F("expected_layers")))
        .select_related("machine")
        .order_by("machine__name")
    )


@dataclass(frozen=True)
class Backlog:
    waiting: int
    oldest_received_at: datetime | None

    def age(self, now: datetime | None = None) -> float:
        if self.oldest_received_at is None:
            return 0.0
        return ((now or timezone.now()) - self.oldest_received_at).total_seconds()

    @property
    def late(self) -> bool:
        return self.age() > settings.LAYERWATCH_BACKLOG_AFTER_SECONDS


def scoring_backlog() -> Backlog:
    found = Layer.objects.filter(status=Layer.Status.QUEUED).aggregate(waiting=Count("pk"), oldest=Min("received_at"))
    return Backlog(waiting=found["waiting"], oldest_received_at=found["oldest"])


@dataclass
class WatchStatus:
    """What the fleet dashboard shows above the machines, computed live on each request."""

    workers: list[WorkerHeartbeat]
    backlog: Backlog
    stalled: dict[int, PrintJob] = field(default_factory=dict)  # machine id -> its stalled job
    open_alerts: list[SystemAlert] = field(default_factory=list)

    @property
    def watching(self) -> bool:
        return bool(self.workers) and not self.backlog.late and not self.stalled


def watch_status() -> WatchStatus:
    return WatchStatus(
        workers=workers_alive(),
        backlog=scoring_backlog(),
        stalled={job.machine_id: job for job in jobs_stalled()},
        open_alerts=list(system_alerts(status=SystemAlert.Status.OPEN)),
    )


def system_alerts(*, status: str | None = None) -> QuerySet[SystemAlert]:
    alerts = SystemAlert.objects.select_related("machine", "job").order_by("-opened_at", "-id")
    return alerts.filter(status=status) if status else alerts
