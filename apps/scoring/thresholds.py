"""A person setting a model version's threshold by hand (calibration sets it when training)."""

import math

from django.db import transaction

from apps.audit.services import audit_record
from apps.scoring.models import ModelVersion


@transaction.atomic
def model_version_threshold_set(*, version: ModelVersion, threshold: float, actor) -> ModelVersion:
    """Sets the version's global threshold; later layers are judged against it. Audited."""
    if not math.isfinite(threshold) or threshold <= 0:
        raise ValueError("A threshold is a positive, finite number.")
    old = ModelVersion.objects.select_for_update().filter(pk=version.pk).values_list("threshold", flat=True).first()
    version.threshold = threshold
    version.save(update_fields=["threshold"])
    audit_record(
        actor=actor, action="model.threshold", target=version, machine=version.machine,
        old={"threshold": old}, new={"threshold": threshold},
    )
    return version
