from rest_framework import serializers

from apps.alerts.models import Alert, AlertRule, Delivery
from apps.alerts.validation import alert_rule_errors


class AlertOutput(serializers.ModelSerializer):
    machine = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    job = serializers.SlugRelatedField(slug_field="job_id", read_only=True)
    layers = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()
    acknowledged_by = serializers.StringRelatedField()
    resolved_by = serializers.StringRelatedField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "machine",
            "job",
            "layers",
            "severity",
            "status",
            "reason",
            "opened_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "outcome",
            "notifications",
            "updated_at",
        ]

    def get_layers(self, alert: Alert) -> list[dict]:
        return [{"id": lr.pk, "index": lr.index} for lr in sorted(alert.layers.all(), key=lambda lr: lr.index)]

    def get_notifications(self, alert: Alert) -> list[dict]:
        return [
            {"kind": d.kind, "event": d.event, "status": d.status, "attempts": d.attempts}
            for d in alert.deliveries.all()
        ]


class ResolveInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Alert.Outcome.choices, required=False, default="")


class DeliveryOutput(serializers.ModelSerializer):
    channel = serializers.StringRelatedField()

    class Meta:
        model = Delivery
        fields = ["id", "kind", "channel", "event", "status", "idempotency_key"]


class AlertRuleIO(serializers.ModelSerializer):
    class Meta:
        model = AlertRule
        fields = [
            "is_active",
            "warmup_layers",
            "window_layers",
            "k_warning",
            "k_critical",
            "ewm_alpha",
            "ewm_warning",
            "ewm_critical",
            "cooldown_layers",
        ]

    def validate(self, data):
        current = {f: getattr(self.instance, f) for f in self.Meta.fields} if self.instance else {}
        errors = alert_rule_errors({**current, **data})
        if errors:
            raise serializers.ValidationError(errors)
        return data
