"""An upload is acknowledged only once it is stored: a full volume answers 507, a database that is
down 503, and a broker that is down still stores and acknowledges (the sweeper sends it later)."""

import pytest
from django.db import connection
from django.utils import timezone

from apps.layers.models import Layer
from apps.scoring.broker import scoring_messages_pending
from tests.images import image_bytes
from tests.reliability.broker import broker_at


def upload(client, *, layer=0, data=None):
    form = {"image": _file(data or image_bytes(seed=layer)), "job": "J1", "layer": layer}
    return client.post("/api/v1/layers/", form, format="multipart")


def _file(data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("layer.png", data, content_type="image/png")


def media_files(settings) -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] if settings.MEDIA_ROOT.exists() else []


@pytest.mark.django_db
def test_it_refuses_an_upload_with_507_when_the_storage_is_full(printer_client, settings):
    before = media_files(settings)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.reliability.full_storage.FullStorage"}}
    response = upload(printer_client)
    assert response.status_code == 507
    assert "storage is full" in response.json()["detail"] and "not stored" in response.json()["detail"]
    assert not Layer.objects.exists()
    assert media_files(settings) == before


@pytest.mark.django_db
def test_it_stores_the_layer_once_the_storage_has_room_again(printer_client, settings):
    storages = settings.STORAGES
    settings.STORAGES = {**storages, "default": {"BACKEND": "tests.reliability.full_storage.FullStorage"}}
    assert upload(printer_client).status_code == 507
    settings.STORAGES = storages
    response = upload(printer_client)
    assert response.status_code == 202
    assert Layer.objects.get().sha256 == Layer.objects.get(pk=response.json()["id"]).sha256


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_and_stores_nothing_while_the_database_is_down(printer_client, broker):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: connecting fails as in a restart
    try:
        response = upload(printer_client)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert "database is unavailable" in response.json()["detail"] and response["Retry-After"]
    assert not Layer.objects.exists()
    assert upload(printer_client).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_it_acknowledges_a_stored_layer_while_the_broker_is_down(printer_client, broker):
    with broker_at("redis://127.0.0.1:1/0"):  # nothing listens there
        response = upload(printer_client)
    assert response.status_code == 202
    layer = Layer.objects.get(pk=response.json()["id"])
    # Stored and queued, with no message: the sweeper sends one once the broker is back.
    assert layer.status == Layer.Status.QUEUED
    assert layer.id not in scoring_messages_pending(delivered_since=timezone.now())
