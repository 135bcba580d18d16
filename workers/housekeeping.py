from celery import shared_task

from apps.scoring.claims import layers_requeue_lost, layers_requeue_repaired


@shared_task
def requeue_stuck_layers() -> int:
    """Re-sends layers whose scoring message was lost, and those a repaired model artifact can now score.

    Runs every LAYERWATCH_SWEEP_INTERVAL_SECONDS on beat; several at once never send a layer twice.
    """
    return layers_requeue_lost() + layers_requeue_repaired()
