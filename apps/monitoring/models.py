from django.db import models
from django.db.models import Q

from apps.alerts.models import Severity
from apps.layers.models import PrintJob
from apps.machines.models import Machine


class WorkerHeartbeat(models.Model):
    """A Celery worker's last sign of life, refreshed every few seconds while it runs."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return f"{self.hostname} ({', '.join(self.queues)})"


class SystemAlert(models.Model):
    """Layerwatch itself is not watching: a printer stopped uploading, scoring fell behind, or no
    scoring worker is alive. Kept apart from defect alerts; it resolves when the condition clears."""

    class Kind(models.TextChoices):
        PRINTER_STALLED = "printer_stalled"
        SCORING_BACKLOG = "scoring_backlog"
        NO_SCORING_WORKER = "no_scoring_worker"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    machine = models.ForeignKey(
        Machine, null=True, blank=True, on_delete=models.CASCADE, related_name="system_alerts"
    )
    job = models.ForeignKey(PrintJob, null=True, blank=True, on_delete=models.CASCADE, related_name="system_alerts")
    reason = models.CharField(max_length=300)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One open alert per condition and subject, however many checks run at once.
            models.UniqueConstraint(
                fields=["kind", "machine", "job"],
                condition=Q(status="open"),
                nulls_distinct=False,
                name="one_open_system_alert_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.machine or 'fleet'} ({self.status})"


# How loud each condition is: channels with a higher minimum severity skip the warnings.
SYSTEM_SEVERITY = {
    SystemAlert.Kind.PRINTER_STALLED: Severity.CRITICAL,
    SystemAlert.Kind.SCORING_BACKLOG: Severity.WARNING,
    SystemAlert.Kind.NO_SCORING_WORKER: Severity.CRITICAL,
}
