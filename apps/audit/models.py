from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEntry(models.Model):
    """Who changed an alert rule, a channel, a threshold, the active model or a token; when; from what to what."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept apart from the foreign key, so the entry still names a person after their account is deleted.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    machine = models.ForeignKey(
        "machines.Machine", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200)
    old = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    new = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target_repr} at {self.at:%Y-%m-%d %H:%M:%S}"
