"""System alerts: opened while a condition holds, resolved by the check that finds it cleared."""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.alerts.notifications import system_alert_notifications_dispatch
from apps.layers.models import PrintJob
from apps.machines.models import Machine
from apps.monitoring.heartbeats import workers_alive
from apps.monitoring.models import SYSTEM_SEVERITY, SystemAlert
from apps.monitoring.selectors import jobs_stalled, scoring_backlog

Kind = SystemAlert.Kind


@dataclass(frozen=True)
class Condition:
    kind: str
    reason: str
    machine: Machine | None = None
    job: PrintJob | None = None

    @property
    def key(self) -> tuple:
        return (self.kind, self.machine.pk if self.machine else None, self.job.pk if self.job else None)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def watch_conditions() -> list[Condition]:
    """Every condition that holds now."""
    now = timezone.now()
    found = [
        Condition(
            kind=Kind.PRINTER_STALLED,
            machine=job.machine,
            job=job,
            reason=f"{job.machine.name} has sent no layer of running job {job.job_id} for "
            f"{_minutes((now - job.last_layer_at).total_seconds())} (last layer at {job.last_layer_at:%H:%M:%S} UTC).",
        )
        for job in jobs_stalled(now=now)
    ]
    backlog = scoring_backlog()
    if backlog.late:
        found.append(
            Condition(
                kind=Kind.SCORING_BACKLOG,
                reason=f"{backlog.waiting} layer(s) wait for a score; the oldest for {_minutes(backlog.age(now))}.",
            )
        )
    if not workers_alive():
        found.append(
            Condition(
                kind=Kind.NO_SCORING_WORKER,
                reason="No scoring worker is alive (no heartbeat in the last "
                f"{settings.LAYERWATCH_WORKER_STALE_SECONDS:g} s): new layers are not scored.",
            )
        )
    return found


def system_alerts_check() -> dict[str, list[SystemAlert]]:
    """Opens an alert for each new condition and resolves those whose condition cleared; each
    change is announced once. Safe to run concurrently: the open-alert constraint and conditional
    updates keep one alert per condition and one announcement per change."""
    conditions = {c.key: c for c in watch_conditions()}
    opened, resolved = [], []
    for alert in SystemAlert.objects.filter(status=SystemAlert.Status.OPEN).select_related("machine", "job"):
        if (alert.kind, alert.machine_id, alert.job_id) in conditions:
            conditions.pop((alert.kind, alert.machine_id, alert.job_id))
            continue
        with transaction.atomic():
            now = timezone.now()
            if SystemAlert.objects.filter(pk=alert.pk, status=SystemAlert.Status.OPEN).update(
                status=SystemAlert.Status.RESOLVED, resolved_at=now
            ):
                alert.status, alert.resolved_at = SystemAlert.Status.RESOLVED, now
                system_alert_notifications_dispatch(alert=alert, event="resolved")
                resolved.append(alert)
    for condition in conditions.values():
        try:
            with transaction.atomic():
                alert = SystemAlert.objects.create(
                    kind=condition.kind,
                    severity=SYSTEM_SEVERITY[condition.kind],
                    machine=condition.machine,
                    job=condition.job,
                    reason=condition.reason[:300],
                )
                system_alert_notifications_dispatch(alert=alert, event="opened")
        except IntegrityError:
            continue  # a concurrent check opened it first
        opened.append(alert)
    return {"opened": opened, "resolved": resolved}
