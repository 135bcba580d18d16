"""Alert evaluation and lifecycle. Notifications are in notifications.py and delivery.py."""

from django.db import transaction
from django.utils import timezone

from apps.alerts.models import Alert, AlertRule, NotificationChannel, Severity
from apps.alerts.notifications import notifications_dispatch
from apps.alerts.rules import EWM_MEMORY, in_cooldown, is_new_onset, rules_decide
from apps.alerts.selectors import (
    alert_last_for_job,
    alert_rule_for,
    alert_unresolved_for_job,
    job_powder_lost,
    job_recent_points,
)
from apps.audit.services import audit_record, audit_snapshot
from apps.layers.models import Label, LabelValue, Layer, PrintJob
from apps.layers.services import layers_label_bulk
from apps.queueing import task_send
from apps.records.services import job_layers_likely_kind

FEEDBACK_LABELS = {
    Alert.Outcome.FALSE_ALARM: LabelValue.GOOD,
    Alert.Outcome.CONFIRMED: LabelValue.DEFECTIVE,
}


class AlertStateError(ValueError):
    """The alert is not in a state that allows this step (e.g. resolving it twice)."""


def alert_rules_enqueue(*, layer_id: int) -> None:
    """Called by scoring once a layer's score is committed: evaluation runs on the default queue,
    never inside scoring. Sent by name, so apps never import workers."""
    task_send("alerts.evaluate_alert_rules", layer_id)


def alert_rules_evaluate(*, layer_id: int) -> Alert | None:
    """Evaluates the rules on the window of the job's scored layers ending at this one: the same
    window whether the layers after it were scored yet or not, so a backlog scored at once raises
    the alerts its layers would have raised one by one.

    Returns the alert that was opened or updated, if any. Safe to run again and concurrently.
    """
    layer = Layer.objects.select_related("machine").filter(pk=layer_id).first()
    if layer is None:
        return None
    params = alert_rule_for(machine=layer.machine)
    if params is None:
        return None
    with transaction.atomic():
        # Serialises evaluations of one job, so two workers scoring adjacent layers of it see each
        # other's alert. The partial unique constraint on Alert is the backstop.
        job = PrintJob.objects.select_for_update().get(pk=layer.job_id)
        points = job_recent_points(job=job, limit=max(params.window_layers, EWM_MEMORY), up_to=layer.index)
        decision = rules_decide(params=params, points=points)
        if decision is None:
            return None
        newest = points[-1].index
        layers = list(Layer.objects.filter(job=job, index__in=decision.layer_indexes))
        alert, last = alert_unresolved_for_job(job=job), alert_last_for_job(job=job)
        onset = last is not None and is_new_onset(params=params, decision=decision, points=points,
                                                   last_index=last.last_layer_index)
        if alert is not None and not onset:
            return _alert_absorb(alert=alert, decision=decision, newest=newest, layers=layers)
        if last is not None and not onset and in_cooldown(
            params=params,
            decision=decision,
            index=newest,
            last_index=last.last_layer_index,
            last_severity=last.severity,
        ):
            return None
        alert = Alert.objects.create(
            machine=layer.machine,
            job=job,
            severity=decision.severity,
            reason=_reason(decision=decision, job=job),
            last_layer_index=newest,
        )
        alert.layers.add(*layers)
        notifications_dispatch(alert=alert, event="opened")
    return alert


def _reason(*, decision, job: PrintJob) -> str:
    """The rule that fired and, where layers of the alert lost powder, how much: an operator reading
    the notification then knows to look for a short feed. Then the regions' likely defect kind."""
    reason = decision.reason
    lost = job_powder_lost(job=job, indexes=decision.layer_indexes)
    if lost:
        index, share = max(lost, key=lambda row: row[1])
        reason = f"{reason}; powder gone from {share:.0%} of the bed on layer {index}, as after a short feed"
    # The kind the machine's labeled regions suggest, where it has enough of them.
    kind = job_layers_likely_kind(job_id=job.pk, indexes=decision.layer_indexes)
    if kind:
        reason = f"{reason}; {kind}"
    return reason[: Alert._meta.get_field("reason").max_length]


def _alert_absorb(*, alert: Alert, decision, newest: int, layers: list[Layer]) -> Alert:
    """An open alert takes the new layers; a warning that turns critical is escalated once."""
    alert.layers.add(*layers)
    alert.last_layer_index = max(alert.last_layer_index, newest)
    fields = ["last_layer_index", "updated_at"]
    escalate = alert.severity == Severity.WARNING and decision.severity == Severity.CRITICAL
    if escalate:
        alert.severity, alert.reason = Severity.CRITICAL, _reason(decision=decision, job=alert.job)
        fields += ["severity", "reason"]
    alert.save(update_fields=fields)
    if escalate:
        notifications_dispatch(alert=alert, event="escalated")
    return alert


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    # A conditional UPDATE: of two operators clicking at once, the first one is recorded.
    now = timezone.now()
    Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
        status=Alert.Status.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user, updated_at=now
    )
    alert.refresh_from_db()
    if alert.status == Alert.Status.RESOLVED:
        raise AlertStateError("This alert is already resolved.")
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, user, outcome: str = "") -> Alert:
    """Resolves the alert. A false alarm labels its layers good, a confirmed one defective."""
    if outcome and outcome not in Alert.Outcome.values:
        raise ValueError(f"Unknown outcome {outcome!r}; use one of {', '.join(Alert.Outcome.values)}.")
    # The job lock keeps a concurrent evaluation from adding layers after they were labeled.
    PrintJob.objects.select_for_update().filter(pk=alert.job_id).first()
    now = timezone.now()
    updated = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(status=Alert.Status.RESOLVED)
        .update(
            status=Alert.Status.RESOLVED, resolved_at=now, resolved_by=user, outcome=outcome, updated_at=now
        )
    )
    if not updated:
        raise AlertStateError("This alert is already resolved.")
    # Resolving skips acknowledging: record who took it, so "who and when" is never empty.
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(acknowledged_at=now, acknowledged_by=user)
    if outcome in FEEDBACK_LABELS:
        layers_label_bulk(
            layer_ids=list(alert.layers.values_list("pk", flat=True)),
            value=FEEDBACK_LABELS[outcome],
            user=user,
            source=Label.Source.ALERT_FEEDBACK,
        )
    alert.refresh_from_db()
    return alert


RULE_AUDIT_FIELDS = [
    "is_active", "warmup_layers", "window_layers", "k_warning", "k_critical",
    "ewm_alpha", "ewm_warning", "ewm_critical", "cooldown_layers",
]
CHANNEL_AUDIT_FIELDS = ["name", "machine", "kind", "is_active", "min_severity", "url", "recipients"]


def _stored(instance):
    return type(instance).objects.filter(pk=instance.pk).first() if instance.pk else None


@transaction.atomic
def alert_rule_save(*, rule: AlertRule, actor) -> AlertRule:
    """Saves a machine's (or the fleet's) alert rule and records the change in the audit log."""
    before = _stored(rule)
    old = audit_snapshot(before, RULE_AUDIT_FIELDS) if before else {}
    rule.save()
    audit_record(
        actor=actor, action="alert_rule.create" if before is None else "alert_rule.update", target=rule,
        machine=rule.machine, old=old, new=audit_snapshot(rule, RULE_AUDIT_FIELDS),
    )
    return rule


@transaction.atomic
def notification_channel_save(*, channel: NotificationChannel, actor) -> NotificationChannel:
    before = _stored(channel)
    old = audit_snapshot(before, CHANNEL_AUDIT_FIELDS) if before else {}
    channel.save()
    new = audit_snapshot(channel, CHANNEL_AUDIT_FIELDS)
    old_secret = before.secret if before else ""
    if old_secret != channel.secret:  # the log says that the webhook key changed, never what it is
        old["secret"], new["secret"] = ("(set)" if old_secret else ""), ("(new value)" if channel.secret else "")
    audit_record(
        actor=actor, action="channel.create" if before is None else "channel.update", target=channel,
        machine=channel.machine, old=old, new=new,
    )
    return channel


@transaction.atomic
def notification_channel_delete(*, channel: NotificationChannel, actor) -> None:
    old = audit_snapshot(channel, CHANNEL_AUDIT_FIELDS)
    audit_record(actor=actor, action="channel.delete", target=channel, machine=channel.machine, old=old, new={})
    channel.delete()
