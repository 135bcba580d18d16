from rest_framework import serializers

from apps.monitoring.models import SystemAlert


class SystemAlertOutput(serializers.ModelSerializer):
    machine = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    job = serializers.SlugRelatedField(slug_field="job_id", read_only=True)
    job_pk = serializers.IntegerField(source="job_id", read_only=True)

    class Meta:
        model = SystemAlert
        fields = ["id", "kind", "severity", "status", "machine", "job", "job_pk", "reason", "opened_at", "resolved_at"]
