from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from apps.alerts.models import Alert
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from tests.alerts.test_api import open_alert
from tests.images import image_bytes

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return quote((T0 + timedelta(minutes=minutes)).isoformat())


@pytest.fixture
def layers(printer, other_printer):
    """Five layers of the printer received a minute apart from T0 (out of id order), one of another."""
    made = []
    for index, minute in enumerate([3, 0, 4, 1, 2]):
        layer = layer_ingest(machine=printer.machine, job_id="J1", index=index, data=image_bytes(seed=index),
                             enqueue=False).layer
        Layer.objects.filter(pk=layer.pk).update(received_at=T0 + timedelta(minutes=minute))
        made.append(layer)
    other = layer_ingest(machine=other_printer.machine, job_id="K", index=0, data=image_bytes(seed=9), enqueue=False)
    Layer.objects.filter(pk=other.layer.pk).update(received_at=T0 + timedelta(minutes=10))
    by_time = sorted(made, key=lambda lr: Layer.objects.get(pk=lr.pk).received_at)
    return [lr.pk for lr in by_time], other.layer.pk


def walk(client, url: str) -> list[int]:
    ids, pages = [], 0
    while url:
        body = client.get(url).json()
        assert "count" not in body
        ids += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
        assert pages < 20
    return ids


def test_it_filters_layers_by_a_received_time_window(operator_client, layers):
    ordered, _ = layers

    def ids(query):
        return sorted(r["id"] for r in operator_client.get(f"/api/v1/layers/?{query}").json()["results"])

    assert ids(f"received_after={at(1)}") == sorted([*ordered[2:], layers[1]])
    assert ids(f"received_after={at(1)}&received_before={at(4)}") == sorted(ordered[2:4])
    assert ids("received_before=2026-12-01T08:01:00Z") == [ordered[0]]
    assert ids("received_before=2026-12-01T09:01:00%2B01:00") == [ordered[0]]
    # An offset Python reads but PostgreSQL refuses (past ±15:59) is compared in UTC.
    assert ids("received_before=2026-12-02T03:01:00%2B19:00") == [ordered[0]]


def test_it_answers_400_for_a_time_outside_what_can_be_stored(operator_client, layers):
    response = operator_client.get("/api/v1/layers/?received_after=0001-01-01T00:00:00%2B19:00")
    assert response.status_code == 400 and "outside the range" in response.json()["received_after"][0]


@pytest.mark.parametrize("url,field", [
    ("/api/v1/layers/?received_after=yesterday", "received_after"),
    ("/api/v1/layers/?received_before=2026-13-01T00:00:00", "received_before"),
    ("/api/v1/layers/?received_after=2026-12-01T08:00:00+01:00", "received_after"),  # + not encoded
    ("/api/v1/alerts/?created_after=soon", "created_after"),
    ("/api/v1/alerts/?created_before=12/01/2026", "created_before"),
    ("/api/v1/alerts/?updated_after=2026-12-01T25:00", "updated_after"),
    ("/api/v1/alerts/?updated_before=x", "updated_before"),
])
def test_it_answers_400_with_a_message_for_a_bad_time(operator_client, url, field):
    response = operator_client.get(url)
    assert response.status_code == 400
    assert list(response.json()) == [field] and "ISO-8601" in response.json()[field][0]


def test_it_keeps_limit_offset_pages_by_default(operator_client, layers):
    body = operator_client.get("/api/v1/layers/?limit=2&offset=1").json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 6
    assert len(body["results"]) == 2 and "offset=3" in body["next"]


def test_it_walks_cursor_pages_oldest_first_each_layer_once(operator_client, layers, printer):
    ordered, other = layers
    first = operator_client.get("/api/v1/layers/?pagination=cursor&limit=2").json()
    later = layer_ingest(machine=printer.machine, job_id="J1", index=9, data=image_bytes(seed=20), enqueue=False)
    ids = [row["id"] for row in first["results"]] + walk(operator_client, first["next"])
    assert ids == [*ordered, other, later.layer.pk]


def test_it_walks_cursor_pages_newest_first_on_request_and_keeps_filters(operator_client, layers):
    ordered, _ = layers
    url = f"/api/v1/layers/?pagination=cursor&limit=2&ordering=-received_at&received_before={at(5)}"
    assert walk(operator_client, url) == ordered[::-1]


def test_it_gives_a_printer_cursor_pages_of_its_own_layers_only(printer_client, layers):
    assert walk(printer_client, "/api/v1/layers/?pagination=cursor&limit=4") == layers[0]


@pytest.mark.parametrize("query,field", [
    ("pagination=pages", "pagination"),
    ("pagination=cursor&ordering=score", "ordering"),
])
def test_it_answers_400_for_an_unknown_pagination_or_ordering(operator_client, layers, query, field):
    response = operator_client.get(f"/api/v1/layers/?{query}")
    assert response.status_code == 400 and list(response.json()) == [field]


def test_it_answers_404_for_a_cursor_it_did_not_make(operator_client, layers):
    response = operator_client.get("/api/v1/layers/?cursor=not-a-cursor")
    assert response.status_code == 404 and "cursor" in response.json()["detail"].lower()


@pytest.fixture
def alerts(printer, other_printer):
    first = open_alert(printer.machine)
    second = open_alert(other_printer.machine, job_id="J9", values=(1.2, 1.2))
    Alert.objects.filter(pk=first.pk).update(opened_at=T0, updated_at=T0)
    Alert.objects.filter(pk=second.pk).update(opened_at=T0 + timedelta(minutes=5), updated_at=T0 + timedelta(minutes=5))
    return first, second


def test_it_filters_alerts_by_creation_time(operator_client, alerts):
    first, second = alerts
    rows = operator_client.get(f"/api/v1/alerts/?created_after={at(1)}").json()["results"]
    assert [r["id"] for r in rows] == [second.pk]
    rows = operator_client.get(f"/api/v1/alerts/?created_before={at(1)}").json()["results"]
    assert [r["id"] for r in rows] == [first.pk]


def test_it_finds_an_alert_changed_since_the_last_sync(operator_client, alerts):
    first, second = alerts
    since = quote((T0 + timedelta(minutes=6)).isoformat())
    assert operator_client.get(f"/api/v1/alerts/?updated_after={since}").json()["results"] == []
    operator_client.post(f"/api/v1/alerts/{first.pk}/acknowledge/")
    rows = operator_client.get(f"/api/v1/alerts/?updated_after={since}").json()["results"]
    assert [(r["id"], r["status"]) for r in rows] == [(first.pk, "acknowledged")]
    assert rows[0]["updated_at"] == rows[0]["acknowledged_at"]
    operator_client.post(f"/api/v1/alerts/{second.pk}/resolve/", {"outcome": "fixed"}, format="json")
    url = f"/api/v1/alerts/?updated_after={since}&pagination=cursor&limit=1"
    assert walk(operator_client, url) == [first.pk, second.pk]  # by last change, oldest first


def test_it_counts_new_layers_joining_an_open_alert_as_a_change(operator_client, printer):
    from apps.alerts.services import alert_rules_evaluate
    from tests.alerts.conftest import scored_job

    alert = open_alert(printer.machine)
    Alert.objects.filter(pk=alert.pk).update(updated_at=T0)
    more = scored_job(printer.machine, [2.0], start=8)
    assert alert_rules_evaluate(layer_id=more[-1].pk).pk == alert.pk
    rows = operator_client.get(f"/api/v1/alerts/?updated_after={at(1)}").json()["results"]
    assert [r["id"] for r in rows] == [alert.pk] and 8 in [lr["index"] for lr in rows[0]["layers"]]
