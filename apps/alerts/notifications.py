"""Which receivers hear about an alert. Each becomes a Delivery, sent by its own task."""

import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from apps.alerts.models import Alert, Delivery, NotificationChannel, Severity
from apps.alerts.selectors import channels_for
from apps.layers.models import Layer
from apps.machines.models import Machine
from apps.queueing import task_send

_RANK = {Severity.WARNING: 1, Severity.CRITICAL: 2}


def absolute_url(path: str) -> str:
    """A link that works from an inbox or a chat app: the UI's address plus the path."""
    return f"{settings.LAYERWATCH_BASE_URL}{path}"


def _worst_layer(alert: Alert) -> Layer | None:
    """The alert's layer with the highest score against its threshold: the one to look at first."""
    layers = alert.layers.select_related("current_score").filter(current_score__isnull=False)
    return max(layers, key=lambda lr: lr.current_score.score / (lr.current_score.threshold or 1), default=None)


def alert_payload(*, alert: Alert, event: str) -> dict:
    worst = _worst_layer(alert)
    return {
        "event": event,
        "test": False,
        "category": "defect",
        "alert": {
            "id": alert.pk,
            "kind": "defect",
            "severity": alert.severity,
            "status": alert.status,
            "reason": alert.reason,
            "machine": alert.machine.slug,
            "job": alert.job.job_id,
            "layers": sorted(alert.layers.values_list("index", flat=True)),
            "opened_at": alert.opened_at.isoformat(),
            "url": absolute_url(f"/api/v1/alerts/{alert.pk}/"),
            "ui_url": absolute_url(f"{reverse('ui:alerts')}?machine={alert.machine.slug}"),
            "job_url": absolute_url(reverse("ui:job-detail", args=[alert.job_id])),
        },
        "layer": None
        if worst is None
        else {
            "id": worst.pk,
            "index": worst.index,
            "url": absolute_url(reverse("ui:layer-detail", args=[worst.pk])),
            "heatmap_url": absolute_url(reverse("api:layer-heatmap", args=[worst.pk])),
        },
    }


def system_alert_payload(*, alert, event: str) -> dict:
    """The payload of a SystemAlert (apps.monitoring): the same shape, with category "system"."""
    return {
        "event": event,
        "test": False,
        "category": "system",
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "severity": alert.severity,
            "status": alert.status,
            "reason": alert.reason,
            "machine": alert.machine.slug if alert.machine else None,
            "job": alert.job.job_id if alert.job else None,
            "layers": [],
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "url": absolute_url(f"/api/v1/system-alerts/{alert.pk}/"),
            "ui_url": absolute_url(reverse("ui:dashboard")),
            "job_url": absolute_url(reverse("ui:job-detail", args=[alert.job_id])) if alert.job_id else None,
        },
        "layer": None,
    }


def _deliveries_enqueue(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: task_send("alerts.deliver_notification", pk))


def _delivery_get_or_create(**fields) -> Delivery | None:
    delivery, created = Delivery.objects.get_or_create(dedupe_key=fields.pop("dedupe_key"), defaults=fields)
    return delivery if created else None


def notifications_dispatch(*, alert: Alert, event: str) -> list[Delivery]:
    """Records a delivery per receiver and queues them once the alert is committed."""
    payload = alert_payload(alert=alert, event=event)
    made = []
    for channel in channels_for(machine=alert.machine):
        if _RANK[alert.severity] < _RANK[channel.min_severity]:
            continue
        made.append(
            _delivery_get_or_create(
                dedupe_key=f"{alert.pk}:{event}:channel:{channel.pk}",
                alert=alert,
                channel=channel,
                machine=alert.machine,
                kind=channel.kind,
                event=event,
                payload=payload,
            )
        )
    machine = alert.machine
    if alert.severity == Severity.CRITICAL and machine.pause_on_critical and machine.pause_url:
        # One pause per alert: a printer resumed by its operator is not paused again by the
        # layers that join the same alert, nor by its escalation.
        made.append(
            _delivery_get_or_create(
                dedupe_key=f"{alert.pk}:pause",
                alert=alert,
                machine=machine,
                kind=Delivery.Kind.PAUSE,
                event=event,
                payload={"action": "pause", **payload},
            )
        )
    made = [d for d in made if d is not None]
    _deliveries_enqueue(made)
    return made


def system_alert_notifications_dispatch(*, alert, event: str) -> list[Delivery]:
    """Announces a system alert ("opened" or "resolved") to the channels of its machine and the
    fleet's, or to the fleet's channels alone when no machine is concerned. Never pauses."""
    payload = system_alert_payload(alert=alert, event=event)
    if alert.machine is not None:
        channels = channels_for(machine=alert.machine)
    else:
        channels = NotificationChannel.objects.filter(machine__isnull=True, is_active=True)
    made = [
        _delivery_get_or_create(
            dedupe_key=f"system:{alert.pk}:{event}:channel:{channel.pk}",
            system_alert=alert,
            channel=channel,
            machine=alert.machine,
            kind=channel.kind,
            event=event,
            payload=payload,
        )
        for channel in channels
        if _RANK[alert.severity] >= _RANK[channel.min_severity]
    ]
    made = [d for d in made if d is not None]
    _deliveries_enqueue(made)
    return made


@transaction.atomic
def machine_test_alert_send(*, machine: Machine, requested_by: str = "") -> list[Delivery]:
    """Sends a sample alert through the machine's channels (and the fleet's). Never pauses."""
    channels: list[NotificationChannel] = list(channels_for(machine=machine))
    run = uuid.uuid4().hex
    payload = {
        "event": "test",
        "test": True,
        "alert": {
            "id": None,
            "severity": Severity.CRITICAL,
            "status": Alert.Status.OPEN,
            "reason": f"Test alert{f' requested by {requested_by}' if requested_by else ''}.",
            "machine": machine.slug,
            "job": None,
            "layers": [],
            "url": None,
            "ui_url": absolute_url(reverse("ui:machine-alerts", args=[machine.slug])),
        },
        "category": "defect",
        "layer": None,
    }
    made = [
        Delivery.objects.create(
            dedupe_key=f"test:{run}:{channel.pk}",
            channel=channel,
            machine=machine,
            kind=channel.kind,
            event="test",
            payload=payload,
        )
        for channel in channels
    ]
    _deliveries_enqueue(made)
    return made
