from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

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
def machine_rotate_token(*, machine: Machine) -> str:
    """Issues a new token; the old one stops working at once."""
    issued = token_issue()
    machine.token_prefix = issued.prefix
    machine.token_hash = issued.hash
    machine.save(update_fields=["token_prefix", "token_hash"])
    return issued.token
