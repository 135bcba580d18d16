from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.layers.models import Label, Layer
from apps.ui.models import LabelLock
from apps.ui.services import queue_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_operator(django_user_model):
    return django_user_model.objects.create_user("oscar", password="pw")


def ids(layers):
    return [layer.index for layer in layers]


def test_it_puts_layers_closest_to_the_threshold_first(scored_layers, operator):
    claimed = queue_claim(user=operator, mode="uncertainty", count=3)
    assert ids(claimed)[0] == 5  # score 1.0 against threshold 1.0
    assert set(ids(claimed)) == {4, 5, 6}


def test_it_orders_by_score_and_by_job(scored_layers, operator, second_operator):
    assert ids(queue_claim(user=operator, mode="score", count=2)) == [11, 10]
    assert ids(queue_claim(user=second_operator, mode="sequential", count=2)) == [0, 1]


def test_it_never_gives_two_labelers_the_same_layer(scored_layers, operator, second_operator):
    first = queue_claim(user=operator, mode="uncertainty", count=8)
    second = queue_claim(user=second_operator, mode="uncertainty", count=8)
    assert len(first) == 8 and len(second) == 4
    assert not set(ids(first)) & set(ids(second))


def test_it_hands_out_expired_locks_again(scored_layers, operator, second_operator):
    queue_claim(user=operator, mode="sequential", count=12)
    assert queue_claim(user=second_operator, mode="sequential", count=5) == []
    LabelLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ids(queue_claim(user=second_operator, mode="sequential", count=2)) == [0, 1]


def test_it_leaves_labeled_layers_and_other_models_out(scored_layers, operator, fake_version):
    Layer.objects.filter(index=5).update(label="good")
    fake_version(scored_layers[0].machine)  # a newer version: the old scores no longer count
    assert queue_claim(user=operator, mode="uncertainty", count=5) == []
    assert len(queue_claim(user=operator, mode="sequential", count=20)) == 11


def test_it_serves_the_queue_with_image_urls_and_stats(scored_layers, operator_client):
    response = operator_client.get(reverse("api:label-queue"), {"mode": "score", "count": 2})
    assert response.status_code == 200
    first = response.json()["items"][0]
    assert first["layer"] == 11 and first["anomalous"] is True
    assert first["image_url"] == reverse("api:layer-image", args=[first["id"]])
    assert first["heatmap_url"] == reverse("api:layer-heatmap", args=[first["id"]])
    assert response.json()["stats"]["labels_last_hour"] == 0


def test_it_rejects_an_unknown_mode(operator_client):
    assert operator_client.get(reverse("api:label-queue"), {"mode": "random"}).status_code == 400


def test_it_refuses_the_queue_to_printers(printer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printer.token}")
    assert client.get(reverse("api:label-queue")).status_code in (401, 403)


def test_it_saves_a_batch_of_labels_and_frees_their_locks(scored_layers, operator, operator_client):
    claimed = queue_claim(user=operator, mode="sequential", count=3)
    body = {"labels": [{"layer": claimed[0].pk, "label": "good"},
                       {"layer": claimed[1].pk, "label": "defective"},
                       {"layer": claimed[0].pk, "label": "unsure"}]}
    response = operator_client.post(reverse("api:label-batch"), body, format="json")
    assert response.status_code == 201
    assert response.json()["saved"] == 2
    assert Layer.objects.get(pk=claimed[0].pk).label == "unsure"
    assert Label.objects.filter(user=operator, source="operator").count() == 2
    assert list(LabelLock.objects.values_list("layer_id", flat=True)) == [claimed[2].pk]
    stats = response.json()["stats"]
    assert stats["labels_last_hour"] == 2
    # layer 1 scored 0.6, under the threshold: "defective" disagrees with the model
    assert stats["compared"] == 1 and stats["agreement"] == 0.0


def test_it_rejects_an_unknown_label_in_a_batch(scored_layers, operator_client):
    body = {"labels": [{"layer": scored_layers[0].pk, "label": "meh"}]}
    assert operator_client.post(reverse("api:label-batch"), body, format="json").status_code == 400
    assert not Label.objects.exists()


def test_it_documents_the_ui_endpoints(operator_client):
    schema = operator_client.get("/api/schema/").content.decode()
    for path in ("/api/v1/labels/queue/", "/api/v1/labels/batch/", "/api/v1/analyze/"):
        assert path in schema


def test_it_offers_the_layers_of_unresolved_alerts(scored_layers, operator):
    from apps.alerts.models import Alert

    layers = scored_layers
    alert = Alert.objects.create(machine=layers[0].machine, job=layers[0].job, severity="warning",
                                 reason="test", last_layer_index=9)
    alert.layers.add(layers[9], layers[8])
    assert ids(queue_claim(user=operator, mode="alerts", count=5)) == [8, 9]


def test_it_gives_a_labeler_their_own_locked_layers_back(scored_layers, operator):
    first = queue_claim(user=operator, mode="sequential", count=3)
    assert ids(queue_claim(user=operator, mode="sequential", count=3)) == ids(first)  # a reload
    held = [layer.pk for layer in first]
    assert ids(queue_claim(user=operator, mode="sequential", count=3, exclude=held)) == [3, 4, 5]


def test_it_leaves_out_the_layers_the_page_already_has(scored_layers, operator_client):
    held = ",".join(str(layer.pk) for layer in scored_layers[:4])
    response = operator_client.get(
        reverse("api:label-queue"), {"mode": "sequential", "count": 2, "exclude": held}
    )
    assert [item["layer"] for item in response.json()["items"]] == [4, 5]
