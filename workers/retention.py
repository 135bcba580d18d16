from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.layers.files import retention_apply


# Daily: a database restart at that moment must not skip a day.
@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=30, max_retries=10)
def apply_retention() -> dict:
    """Removes the layer files the retention policy says are too old; beat runs it daily."""
    report = retention_apply()
    return {"images": report.images, "heatmaps": report.heatmaps, "reconstructions": report.reconstructions,
            "bytes": report.bytes}
