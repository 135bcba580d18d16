"""Sending work to the Celery workers by task name, so that apps never import workers.

Where the task is registered in this process (a worker, or tests that run tasks eagerly) it is
called through its own class; elsewhere (the web process) the message is sent by name.
"""

from celery import current_app


def task_send(name: str, *args, queue: str | None = None) -> None:
    """Queue `workers.<name>` with `args`; `queue` overrides the task's route."""
    options = {"queue": queue} if queue else {}
    current_app.signature(f"workers.{name}", args=args).apply_async(**options)
