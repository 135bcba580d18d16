import pytest

from apps.queueing import task_send
from config.celery import app as celery_app


def test_it_sends_a_task_by_name_to_its_route_when_the_task_is_not_loaded(monkeypatch):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=None, kwargs=None, **options: sent.append(
        (name, args, options.get("queue"))))
    task_send("nowhere.not_a_loaded_task", 7, queue="default")
    assert sent == [("workers.nowhere.not_a_loaded_task", (7,), "default")]


def test_it_runs_a_loaded_task_through_its_own_class_when_eager():
    import workers.housekeeping  # noqa: F401  (registers the tasks, as a worker process does)

    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    try:
        with pytest.raises(Exception) as raised:  # eager: the task body really runs, here without a database
            task_send("housekeeping.requeue_stuck_layers")
        assert "database" in str(raised.value).lower()
    finally:
        celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = False
