import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.layers.models import Layer, PrintJob
from apps.machines.models import Machine


class Severity(models.TextChoices):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertRule(models.Model):
    """A machine's alert rule; the row without a machine is the fleet default."""

    machine = models.OneToOneField(Machine, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rule")
    is_active = models.BooleanField(default=True)
    warmup_layers = models.PositiveIntegerField(default=10, help_text="Nothing fires before this layer.")
    window_layers = models.PositiveIntegerField(default=5, help_text="n: the last n scored layers.")
    k_warning = models.PositiveIntegerField(default=2, help_text="Anomalous layers of n for a warning.")
    k_critical = models.PositiveIntegerField(default=3, help_text="Anomalous layers of n for critical.")
    ewm_alpha = models.FloatField(default=0.5, help_text="Weight of the newest layer in the mean.")
    ewm_warning = models.FloatField(default=1.0, help_text="Weighted mean of score/threshold.")
    ewm_critical = models.FloatField(default=1.15)
    cooldown_layers = models.PositiveIntegerField(
        default=20, help_text="Layers after an alert's last layer before the job may alert again."
    )

    class Meta:
        constraints = [
            # At most one fleet default: NULL machines count as equal here.
            models.UniqueConstraint(fields=["machine"], nulls_distinct=False, name="one_alert_rule_per_machine"),
        ]

    def __str__(self) -> str:
        return f"Alert rule for {self.machine or 'the fleet'}"

    def clean(self) -> None:
        if self.k_critical > self.window_layers or self.k_warning > self.window_layers:
            raise ValidationError("k (warning or critical) cannot exceed the window of n layers.")
        if not 0 < self.ewm_alpha <= 1:
            raise ValidationError({"ewm_alpha": "Must be above 0 and at most 1."})


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    class Outcome(models.TextChoices):
        FALSE_ALARM = "false_alarm"
        CONFIRMED = "confirmed"
        FIXED = "fixed"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="alerts")
    job = models.ForeignKey(PrintJob, on_delete=models.CASCADE, related_name="alerts")
    layers = models.ManyToManyField(Layer, related_name="alerts", blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    reason = models.CharField(max_length=300)
    # The newest layer index that fired this alert; the job's cooldown counts from it.
    last_layer_index = models.PositiveIntegerField()
    opened_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    # Any change (new layers, escalation, acknowledge, resolve) moves it: what an MES syncs on.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        # Several alerts of a job may be open at once: a new onset after a quiet stretch opens its
        # own (apps.alerts.rules.is_new_onset). Evaluations of a job are serialised by its row lock.
        indexes = [models.Index(fields=["status", "-opened_at"]), models.Index(fields=["job", "status"])]

    def __str__(self) -> str:
        return f"{self.severity} alert on {self.job} ({self.status})"


class NotificationChannel(models.Model):
    """Where alerts go: for one machine, or for the whole fleet when machine is empty."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        EMAIL = "email"
        APPRISE = "apprise"

    name = models.CharField(max_length=100)
    machine = models.ForeignKey(
        Machine,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_channels",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    is_active = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    url = models.URLField(blank=True, help_text="Webhook: where the JSON payload is POSTed.")
    secret = models.CharField(max_length=200, blank=True, help_text="Webhook: HMAC-SHA256 key.")
    recipients = models.TextField(blank=True, help_text="Email: addresses, one per line or comma-separated.")
    apprise_urls = models.TextField(
        blank=True,
        help_text="Apprise: chat or push targets, one URL per line (slack://…, msteams://…, ntfy://…, json://…).",
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.machine or 'fleet'})"

    def clean(self) -> None:
        from apps.alerts.apprise_targets import apprise_url_errors

        if self.kind == self.Kind.APPRISE:
            errors = apprise_url_errors(self.apprise_urls)
            if errors:
                raise ValidationError({"apprise_urls": errors})


class Delivery(models.Model):
    """One notification to one receiver. Its attempts share the idempotency key."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        EMAIL = "email"
        APPRISE = "apprise"
        PAUSE = "pause"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    system_alert = models.ForeignKey(
        "monitoring.SystemAlert", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        NotificationChannel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    # Empty for a fleet-wide system alert (no scoring worker, a scoring backlog).
    machine = models.ForeignKey(Machine, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    event = models.CharField(max_length=16, help_text="opened, escalated, resolved or test.")
    # One delivery per alert, event and receiver, so a re-run evaluation never notifies twice.
    dedupe_key = models.CharField(max_length=100, unique=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} {self.event} #{self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery} attempt {self.number}"
