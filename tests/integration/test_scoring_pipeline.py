"""End to end on real services: HTTP upload → PostgreSQL → Redis → Celery worker process → score."""

import io
import re

import pytest
import requests
from django.core.management import call_command
from PIL import Image

from apps.layers.models import Layer
from apps.scoring.models import LayerScore
from tests.images import image_bytes
from tests.worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def post_layer(live_server, token, data, *, job="J1", layer=0, name="layer.png"):
    return requests.post(
        f"{live_server.url}/api/v1/layers/",
        headers={"Authorization": f"Token {token}"},
        files={"image": (name, data)},
        data={"job": job, "layer": str(layer)},
        timeout=30,
    )


def get_json(url, token):
    return requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30).json()


def scored(url, token):
    body = get_json(url, token)
    return body if body["status"] in ("scored", "failed", "unscored") else None


def test_it_scores_an_uploaded_layer_and_serves_the_heatmap(live_server, celery_worker_process, printer, install_model):
    install_model(printer.machine, threshold=1.0)
    response = post_layer(live_server, printer.token, image_bytes(size=300))
    assert response.status_code == 202
    body = wait_until(lambda: scored(response.json()["url"], printer.token), worker=celery_worker_process)
    assert body["status"] == "scored", body
    assert body["score"] > 1.0 and body["anomalous"] is True and body["threshold"] == 1.0
    assert body["scorer"] == "seed" and body["model_version"] == 1 and body["scored_at"]
    heatmap = requests.get(body["heatmap_url"], headers={"Authorization": f"Token {printer.token}"}, timeout=30)
    assert heatmap.status_code == 200
    assert Image.open(io.BytesIO(heatmap.content)).size == (256, 256)


def test_it_stores_a_layer_unscored_with_a_reason_when_no_model_exists(live_server, celery_worker_process, printer):
    response = post_layer(live_server, printer.token, image_bytes())
    body = wait_until(lambda: scored(response.json()["url"], printer.token), worker=celery_worker_process)
    assert body["status"] == "unscored" and "no active model" in body["error"]
    assert body["score"] is None


def test_it_scores_a_burst_of_layers_once_each_loading_the_model_once(
    live_server, celery_worker_process, printer, install_model
):
    version = install_model(printer.machine, threshold=1e9)
    for index in range(12):
        assert post_layer(live_server, printer.token, image_bytes(seed=index), layer=index).status_code == 202
    # A retry of an already accepted upload must not score anything twice.
    assert post_layer(live_server, printer.token, image_bytes(seed=3), layer=3).status_code == 200
    wait_until(lambda: Layer.objects.filter(status="scored").count() == 12, worker=celery_worker_process)
    assert LayerScore.objects.filter(model_version=version).count() == 12
    loads = re.findall(rf"Loaded model version {version.pk}\b", celery_worker_process.log_path.read_text())
    assert len(loads) == 1


@pytest.mark.long(45)
def test_it_scores_the_real_pblm_images_with_a_model_trained_on_their_good_folder(
    live_server, celery_worker_process, printer, pblm_dir
):
    call_command("import_layers", printer.machine.slug, str(pblm_dir / "good"), "--job", "training",
                 "--label", "good", "--no-score")
    # The default scorer, as users train it; in the model frame, to keep the test short (scoring at
    # the camera's resolution has tests of its own).
    call_command("train_model", printer.machine.slug, "--epochs", "1", "--resolution", "256")
    files = sorted((pblm_dir / "good").glob("*.jpg")) + sorted((pblm_dir / "defective").glob("*.jpg"))
    urls = []
    for index, path in enumerate(files):
        response = post_layer(live_server, printer.token, path.read_bytes(), job="pblm", layer=index, name=path.name)
        assert response.status_code == 202, response.content
        urls.append(response.json()["url"])
    wait_until(lambda: Layer.objects.filter(job__job_id="pblm", status="scored").count() == len(files),
               timeout=180, worker=celery_worker_process)
    for url in urls:
        body = get_json(url, printer.token)
        assert body["score"] is not None and body["anomalous"] in (True, False)
        heatmap = requests.get(body["heatmap_url"], headers={"Authorization": f"Token {printer.token}"}, timeout=30)
        assert heatmap.status_code == 200
