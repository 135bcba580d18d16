"""The audit log is written here, by the services that make the changes (never by signals)."""

from django.db import models

from apps.audit.models import AuditEntry

SYSTEM = "system"  # commands, training and other work no person started


def audit_snapshot(instance: models.Model, fields: list[str]) -> dict:
    """The named fields of a row as JSON-ready values; foreign keys by their id."""
    return {name: getattr(instance, instance._meta.get_field(name).attname) for name in fields}


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model,
    old: dict,
    new: dict,
    machine=None,
) -> AuditEntry | None:
    """Records the keys whose value changed between `old` and `new`; nothing when none did."""
    keys = [key for key in {**old, **new} if old.get(key) != new.get(key)]
    if not keys:
        return None
    authenticated = actor is not None and getattr(actor, "is_authenticated", False) and actor.pk is not None
    return AuditEntry.objects.create(
        actor=actor if authenticated else None,
        actor_name=actor.get_username() if authenticated else str(actor or SYSTEM),
        action=action,
        machine=machine,
        target_type=target._meta.label_lower,
        target_id=str(target.pk or ""),
        target_repr=str(target)[:200],
        old={key: old[key] for key in keys if key in old},  # empty for a creation
        new={key: new[key] for key in keys if key in new},  # empty for a deletion
    )


def audit_model_activation(*, version, actor) -> AuditEntry | None:
    """Called by model activation before it switches: the machine's active version, from and to."""
    current = type(version).objects.filter(machine_id=version.machine_id, status="active").first()
    old = {"active_version": current.version, "threshold": current.threshold} if current else {}
    new = {"active_version": version.version, "threshold": version.threshold}
    return audit_record(
        actor=actor, action="model.activate", target=version, machine=version.machine, old=old, new=new
    )
