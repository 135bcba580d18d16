"""/healthz and /readyz, no login; readiness names what failed."""

from tests.monitoring.conftest import beat_ago


def test_it_answers_healthz_without_touching_the_database(client):
    # No db fixture: pytest-django fails any query, so a 200 here used none.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


def test_it_is_ready_with_database_redis_storage_and_a_scoring_worker(client, own_heartbeats):
    beat_ago(hostname="celery@gpu-1", seconds=1)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    checks = " ".join(body["checks"])
    assert all(name in checks for name in ("Database", "Storage", "Redis", "ScoringWorkers"))
    assert set(body["checks"].values()) == {"OK"}


def test_it_is_not_ready_without_a_scoring_worker(client, own_heartbeats):
    beat_ago(hostname="celery@cpu-1", seconds=1, queues=("default", "training"))
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    (failed,) = body["failed"]
    assert failed.startswith("ScoringWorkers") and "No worker on the 'scoring' queue" in body["checks"][failed]


def test_it_counts_a_worker_with_an_old_heartbeat_as_gone(client, settings, own_heartbeats):
    beat_ago(hostname="celery@gpu-1", seconds=settings.LAYERWATCH_WORKER_STALE_SECONDS + 1)
    assert client.get("/readyz").status_code == 503


def test_it_is_not_ready_when_redis_does_not_answer(client, settings, own_heartbeats):
    beat_ago(hostname="celery@gpu-1", seconds=1)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    body = client.get("/readyz").json()
    assert body["status"] == "failed"
    (failed,) = body["failed"]
    assert failed.startswith("Redis") and "Unable to connect to Redis" in body["checks"][failed]


def test_it_is_not_ready_when_storage_cannot_be_written(client, settings, tmp_path, own_heartbeats):
    beat_ago(hostname="celery@gpu-1", seconds=1)
    settings.MEDIA_ROOT = tmp_path / "missing"
    (tmp_path / "missing").write_text("a file where the media folder should be")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert [name.split("(")[0] for name in response.json()["failed"]] == ["Storage"]


def test_it_needs_no_login_for_health_and_metrics(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
