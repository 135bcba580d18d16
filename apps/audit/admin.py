from django.contrib import admin

from apps.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the services that make changes, and nobody edits it."""

    list_display = ["at", "actor_name", "action", "target_repr", "machine", "old", "new"]
    list_filter = ["action", "machine"]
    search_fields = ["actor_name", "target_repr", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
