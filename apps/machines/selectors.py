from django.db.models import QuerySet

from apps.machines.models import Machine
from apps.machines.tokens import token_matches, token_prefix


def machine_for_token(*, token: str) -> Machine | None:
    prefix = token_prefix(token)
    if prefix is None:
        return None
    machine = Machine.objects.filter(token_prefix=prefix, is_active=True, token_revoked_at__isnull=True).first()
    if machine is None or not token_matches(token, machine.token_hash):
        return None
    return machine


def machine_list() -> QuerySet[Machine]:
    return Machine.objects.order_by("name")


def machine_find(*, slug_or_name: str) -> Machine | None:
    """How commands name a machine: by slug, or by its display name."""
    return Machine.objects.filter(slug=slug_or_name).first() or Machine.objects.filter(name=slug_or_name).first()
