from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.audit.services import audit_record
from apps.machines.models import Machine
from apps.machines.tokens import token_issue


class MachineNameTaken(ValueError):
    pass


@dataclass(frozen=True)
class MachineWithToken:
    machine: Machine
    token: str  # shown once; only its hash is stored


@transaction.atomic
def machine_create(*, name: str, pause_url: str = "", pause_on_critical: bool = False) -> MachineWithToken:
    name = name.strip()
    slug = slugify(name)
    if not name or not slug:
        raise ValueError("A machine needs a name with at least one letter or digit.")
    if Machine.objects.filter(slug=slug).exists() or Machine.objects.filter(name=name).exists():
        raise MachineNameTaken(f"A machine named {name!r} already exists.")
    issued = token_issue()
    machine = Machine.objects.create(
        name=name,
        slug=slug,
        token_prefix=issued.prefix,
        token_hash=issued.hash,
        pause_url=pause_url,
        pause_on_critical=pause_on_critical,
    )
    return MachineWithToken(machine=machine, token=issued.token)


@transaction.atomic
def machine_rotate_token(*, machine: Machine, actor=None) -> str:
    """Issues a new token; the old one stops working at once. A revoked machine is let back in."""
    issued = token_issue()
    old = {"token_prefix": machine.token_prefix, "revoked": machine.token_revoked_at is not None}
    machine.token_prefix = issued.prefix
    machine.token_hash = issued.hash
    machine.token_revoked_at = None
    machine.save(update_fields=["token_prefix", "token_hash", "token_revoked_at"])
    audit_record(
        actor=actor, action="machine.token_rotate", target=machine, machine=machine,
        old=old, new={"token_prefix": issued.prefix, "revoked": False},
    )
    return issued.token


@transaction.atomic
def machine_revoke_token(*, machine: Machine, actor=None) -> Machine:
    """The machine's token stops working (401) until an operator rotates it."""
    if machine.token_revoked_at is not None:
        return machine
    machine.token_revoked_at = timezone.now()
    machine.token_hash = ""  # no token hashes to the empty string: nothing can match it again
    machine.save(update_fields=["token_revoked_at", "token_hash"])
    audit_record(
        actor=actor, action="machine.token_revoke", target=machine, machine=machine,
        old={"revoked": False}, new={"revoked": True},
    )
    return machine
