from celery import shared_task

from apps.layers.files import retention_apply


@shared_task
def apply_retention() -> dict:
    """Removes the layer files the retention policy says are too old; beat runs it daily."""
    report = retention_apply()
    return {"images": report.images, "heatmaps": report.heatmaps, "reconstructions": report.reconstructions,
            "bytes": report.bytes}
