from django.contrib import admin, messages
from django.db import models

from apps.alerts.models import Alert, AlertRule, Delivery, DeliveryAttempt, NotificationChannel
from apps.alerts.notifications import machine_test_alert_send
from apps.alerts.services import alert_rule_save, notification_channel_delete, notification_channel_save


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "is_active",
        "warmup_layers",
        "window_layers",
        "k_warning",
        "k_critical",
        "ewm_warning",
        "ewm_critical",
        "cooldown_layers",
    ]

    def save_model(self, request, obj, form, change):
        alert_rule_save(rule=obj, actor=request.user)  # writes the audit log


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "machine", "min_severity", "is_active"]
    list_filter = ["kind", "machine", "is_active"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["send_test_alert"]

    # Saves and deletes go through the services, which write the audit log.
    def save_model(self, request, obj, form, change):
        notification_channel_save(channel=obj, actor=request.user)

    def delete_model(self, request, obj):
        notification_channel_delete(channel=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for channel in queryset:
            notification_channel_delete(channel=channel, actor=request.user)

    @admin.action(description="Send a test alert through the selected channels' machines")
    def send_test_alert(self, request, queryset):
        machines = {channel.machine for channel in queryset if channel.machine is not None}
        if any(channel.machine is None for channel in queryset):
            self.message_user(request, "Fleet-wide channels are tested with each machine's test alert.")
        for machine in machines:
            sent = machine_test_alert_send(machine=machine, requested_by=request.user.get_username())
            self.message_user(request, f"Queued {len(sent)} test notification(s) for {machine}.", messages.INFO)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["kind", "channel", "event", "status", "attempts", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["__str__", "machine", "severity", "status", "outcome", "opened_at"]
    list_filter = ["status", "severity", "machine"]
    raw_id_fields = ["job", "layers", "acknowledged_by", "resolved_by"]
    readonly_fields = ["opened_at"]
    inlines = [DeliveryInline]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "at", "ok", "response_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "machine", "kind", "event", "status", "attempts", "created_at"]
    list_filter = ["status", "kind", "event"]
    readonly_fields = [
        "idempotency_key",
        "dedupe_key",
        "payload",
        "attempts",
        "claimed_at",
        "sent_at",
    ]
    inlines = [DeliveryAttemptInline]
