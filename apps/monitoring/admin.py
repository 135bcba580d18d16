from django.contrib import admin

from apps.monitoring.models import SystemAlert, WorkerHeartbeat


@admin.register(SystemAlert)
class SystemAlertAdmin(admin.ModelAdmin):
    list_display = ["kind", "severity", "status", "machine", "job", "opened_at", "resolved_at"]
    list_filter = ["kind", "status", "machine"]
    raw_id_fields = ["job"]
    readonly_fields = ["opened_at"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "queues", "started_at", "beat_at"]
    readonly_fields = ["hostname", "queues", "started_at", "beat_at"]
