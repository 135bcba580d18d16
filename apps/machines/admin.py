from django.contrib import admin, messages

from apps.machines.models import Machine
from apps.machines.services import machine_revoke_token, machine_rotate_token


@admin.register(Machine)
class MachineAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "pause_on_critical", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["token_prefix", "token_hash", "token_revoked_at", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["rotate_token", "revoke_token", "send_test_alert"]

    @admin.action(description="Issue a new API token (the old one stops working)")
    def rotate_token(self, request, queryset):
        for machine in queryset:
            token = machine_rotate_token(machine=machine, actor=request.user)
            self.message_user(
                request, f"New token for {machine.name} (shown once): {token}", messages.WARNING
            )

    @admin.action(description="Revoke the API token (uploads get 401 until a new one is issued)")
    def revoke_token(self, request, queryset):
        for machine in queryset:
            machine_revoke_token(machine=machine, actor=request.user)
            self.message_user(request, f"Revoked the token of {machine.name}.", messages.WARNING)

    @admin.action(description="Send a test alert through the machine's notification channels")
    def send_test_alert(self, request, queryset):
        from apps.alerts.notifications import machine_test_alert_send

        for machine in queryset:
            deliveries = machine_test_alert_send(machine=machine, requested_by=request.user.get_username())
            if deliveries:
                self.message_user(request, f"{machine.name}: test alert queued to {len(deliveries)} channel(s).")
            else:
                self.message_user(request, f"{machine.name} has no active notification channel.", messages.WARNING)
