from django.db.models import QuerySet

from apps.audit.models import AuditEntry


def audit_list(*, machine=None, action: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.select_related("machine", "actor").order_by("-at", "-id")
    if machine is not None:
        entries = entries.filter(machine=machine)
    if action:
        entries = entries.filter(action__startswith=action)
    return entries


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())
