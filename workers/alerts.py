"""Alert tasks, on the `default` queue: rule evaluation after scoring, and notification delivery.

Each delivery is its own task with its own timeout, so a slow or dead receiver delays only itself.
"""

from celery import shared_task

from apps.alerts.delivery import delivery_attempt
from apps.alerts.services import alert_rules_evaluate


@shared_task(acks_late=True)
def evaluate_alert_rules(layer_id: int) -> None:
    alert_rules_evaluate(layer_id=layer_id)


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_notification(self, delivery_id: int) -> None:
    # The service counts attempts and gives up; Celery only waits out the backoff.
    wait = delivery_attempt(delivery_id=delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait)
