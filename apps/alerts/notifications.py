"""Which receivers hear about an alert. Each becomes a Delivery, sent by its own task."""

import uuid

from django.db import transaction

from apps.alerts.models import Alert, Delivery, NotificationChannel, Severity
from apps.alerts.selectors import channels_for
from apps.machines.models import Machine
from apps.queueing import task_send

_RANK = {Severity.WARNING: 1, Severity.CRITICAL: 2}


def alert_payload(*, alert: Alert, event: str) -> dict:
    return {
        "event": event,
        "test": False,
        "alert": {
            "id": alert.pk,
            "severity": alert.severity,
            "status": alert.status,
            "reason": alert.reason,
            "machine": alert.machine.slug,
            "job": alert.job.job_id,
            "layers": sorted(alert.layers.values_list("index", flat=True)),
            "opened_at": alert.opened_at.isoformat(),
            "url": f"/api/v1/alerts/{alert.pk}/",
        },
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
        made.append(
            _delivery_get_or_create(
                dedupe_key=f"{alert.pk}:{event}:pause",
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
        },
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
