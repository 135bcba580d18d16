"""Watching the watcher: each worker's heartbeat, and the beat task that raises system alerts."""

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown

from apps.monitoring.heartbeats import HeartbeatThread, heartbeats_prune
from apps.monitoring.services import system_alerts_check

_heartbeat: HeartbeatThread | None = None


@worker_ready.connect
def _heartbeat_start(sender, **kwargs) -> None:
    global _heartbeat
    queues = list(sender.app.amqp.queues.consume_from or sender.app.amqp.queues)
    _heartbeat = HeartbeatThread(hostname=sender.hostname, queues=queues)
    _heartbeat.start()


@worker_shutdown.connect
def _heartbeat_stop(**kwargs) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()


@shared_task(acks_late=True)
def watch_check() -> dict[str, int]:
    changes = system_alerts_check()
    heartbeats_prune()
    return {change: len(alerts) for change, alerts in changes.items()}
