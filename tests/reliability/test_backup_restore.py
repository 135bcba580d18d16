"""docs/backup.md's backup and restore, run as written: pg_dump and a media tarball, a wipe, then
pg_restore and the tarball back; the layers' images match their sha256 and tokens still work."""

import hashlib
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from apps.layers.models import Layer
from tests.images import image_bytes

# `broker`: the queued layers go to a private Redis, which no worker of the test session consumes.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.long(12)]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgresql://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr[-2000:]}"


def upload(client, token, *, index: int):
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = SimpleUploadedFile("layer.png", image_bytes(seed=index), content_type="image/png")
    return client.post(reverse("api:layer-list"), {"image": image, "job": "J1", "layer": index}, format="multipart")


def test_it_restores_the_database_and_media_from_a_backup(printer, settings, tmp_path, broker):
    from rest_framework.test import APIClient

    client = APIClient()
    assert upload(client, printer.token, index=0).status_code == 202
    layer = Layer.objects.get()
    media = settings.MEDIA_ROOT
    dump, tarball = tmp_path / "layerwatch.dump", tmp_path / "layerwatch-media.tar.gz"

    # Back up, as docs/backup.md says.
    run("pg_dump", "--format=custom", f"--file={dump}", database_url())
    run("tar", "-C", str(media), "-czf", str(tarball), ".")

    # Lose everything.
    call_command("flush", "--noinput")
    shutil.rmtree(media)
    media.mkdir()
    assert not Layer.objects.exists()
    assert upload(client, printer.token, index=1).status_code == 401  # the machine is gone

    # Restore, as docs/backup.md says.
    connection.close()
    run("pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={database_url()}", str(dump))
    run("tar", "-C", str(media), "-xzf", str(tarball))

    restored = Layer.objects.get()
    assert restored.pk == layer.pk
    assert hashlib.sha256((media / restored.image.name).read_bytes()).hexdigest() == layer.sha256
    # The machine's token works again: a retry of the stored layer is recognised, a new one is taken.
    assert upload(client, printer.token, index=0).status_code == 200
    assert upload(client, printer.token, index=1).status_code == 202
