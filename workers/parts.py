"""Part tasks, on the `default` queue: estimating a layer's parts after it is scored."""

from celery import shared_task

from apps.parts.services import layer_parts_estimate


@shared_task(name="workers.parts.estimate_layer_parts", acks_late=True)
def estimate_layer_parts(layer_id: int) -> None:
    layer_parts_estimate(layer_id=layer_id)
