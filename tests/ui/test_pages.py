import pytest
from django.urls import reverse

from apps.layers.models import PrintJob
from apps.machines.services import machine_create
from apps.scoring.models import ModelVersion
from tests.images import image_bytes
from tests.ui.conftest import layer_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(client, admin_user):
    client.login(username="ada", password="admin-password")
    return client


@pytest.mark.parametrize("name", ["ui:dashboard", "ui:label-queue", "ui:analyze"])
def test_it_sends_strangers_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_it_shows_a_card_per_machine_in_a_fixed_number_of_queries(
    operator_session, scored_layers, fake_version, django_assert_max_num_queries
):
    for i in range(4):
        other = machine_create(name=f"Printer {i + 2}").machine
        version = fake_version(other)
        layer_add(other, job=f"j{i}", index=0, score=2.0, version=version)
    PrintJob.objects.update(expected_layers=100)
    machine_create(name="Idle printer")
    # 4 of them tell whether the fleet is watching: workers, backlog, stalled jobs, system alerts.
    with django_assert_max_num_queries(12):
        response = operator_session.get(reverse("ui:dashboard"))
    body = response.content.decode()
    assert body.count('class="machine-card') == 6
    assert "layer 11 of 100" in body
    assert "not watching" in body and "warning" in body
    with django_assert_max_num_queries(11):  # session, user, then 9 however many machines
        assert operator_session.get(reverse("ui:dashboard-cards")).status_code == 200


def test_it_calls_a_machine_failing_after_three_anomalous_layers(operator_session, scored_layers):
    body = operator_session.get(reverse("ui:dashboard-cards")).content.decode()
    assert 'data-testid="status">failing<' in body  # scores 1.1 … 1.6 are over the threshold


def test_it_draws_the_job_timeline_with_links_to_layers(
    operator_session, scored_layers, django_assert_max_num_queries
):
    job = scored_layers[0].job
    with django_assert_max_num_queries(9):  # 8, and one for the parts table (none here)
        response = operator_session.get(reverse("ui:job-detail", args=[job.pk]))
    body = response.content.decode()
    assert body.count("<circle") == 12 and body.count('class="dot bad"') == 6
    assert reverse("ui:layer-detail", args=[scored_layers[7].pk]) in body
    assert 'class="threshold"' in body and body.count('<a class="film') == 12


def test_it_shows_a_layer_with_its_neighbours_and_history(
    operator_session, scored_layers, django_assert_max_num_queries
):
    layer = scored_layers[6]
    operator_session.post(reverse("api:layer-label", args=[layer.pk]), {"label": "defective"})
    with django_assert_max_num_queries(10):
        response = operator_session.get(reverse("ui:layer-detail", args=[layer.pk]))
    body = response.content.decode()
    assert body.count('class="strip-item') == 11
    assert "defective · olivia" in body
    assert 'id="overlay"' in body
    assert "features.png" not in body  # this model version has no trained artifact to ask


def test_it_renders_the_labeling_queue(operator_session, scored_layers, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = operator_session.get(reverse("ui:label-queue"))
    assert b"queue.js" in response.content and b"Blind" in response.content


def test_it_shows_model_metrics_and_a_confusion_matrix(
    operator_session, scored_layers, django_assert_max_num_queries
):
    slug = scored_layers[0].machine.slug
    with django_assert_max_num_queries(7):
        response = operator_session.get(reverse("ui:machine-models", args=[slug]))
    body = response.content.decode()
    assert '<td class="tp">8</td>' in body and '<td class="fn">2</td>' in body
    assert "0.950" in body and 'id="retrain"' not in body  # operators do not retrain


def test_it_refuses_model_actions_to_operators(operator_session, machine):
    response = operator_session.post(reverse("ui:model-retrain", args=[machine.slug]))
    assert response.status_code == 302 and "/admin/login/" in response.url
    assert not ModelVersion.objects.exists()


def test_it_retrains_once_the_version_is_committed(
    admin_session, machine, fake_version, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "apps.ui.services.task_send", lambda name, *args, queue=None: sent.append((name, list(args), queue))
    )
    fake_version(machine)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_session.post(reverse("ui:model-retrain", args=[machine.slug]))
    assert response.status_code == 302
    version = ModelVersion.objects.get(machine=machine, version=2)
    assert version.status == "training"
    assert sent == [("training.train_model_version", [version.pk, 5], "training")]
    progress = admin_session.get(reverse("ui:model-progress", args=[version.pk])).json()
    assert progress == {"status": "training", "progress": 0.0, "error": ""}


def test_it_activates_and_rolls_back(admin_session, machine, fake_version):
    first = fake_version(machine)
    second = fake_version(machine)
    admin_session.post(reverse("ui:model-rollback", args=[machine.slug]))
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == ("active", "retired")
    admin_session.post(reverse("ui:model-activate", args=[machine.slug, second.pk]))
    second.refresh_from_db()
    assert second.status == "active"


def test_it_analyzes_uploads_without_storing_them(operator_session, machine, install_model):
    from apps.layers.models import Layer

    version = install_model(machine, threshold=1000.0)
    files = [_upload("a.png", 1), _upload("b.png", 2)]
    response = operator_session.post(reverse("ui:analyze"), {"version": version.pk, "images": files})
    body = response.content.decode()
    assert body.count('data-testid="result"') == 2
    assert body.count('alt="feature map') == 32
    assert not Layer.objects.exists()


def test_it_answers_the_analyze_api_with_images(operator_client, machine, install_model):
    install_model(machine, threshold=1000.0)
    response = operator_client.post(
        reverse("api:analyze"), {"image": _upload("x.png", 3), "machine": machine.slug}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["threshold"] == 1000.0
    assert body["anomalous"] is (body["score"] > 1000.0)
    assert body["heatmap"].startswith("data:image/png;base64,")
    assert len(body["feature_maps"]) == 16


def test_it_renders_a_layers_feature_maps(operator_session, machine, install_model):
    install_model(machine)
    layer = layer_add(machine, index=0)
    response = operator_session.get(reverse("ui:layer-features", args=[layer.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    page = operator_session.get(reverse("ui:layer-detail", args=[layer.pk])).content.decode()
    assert reverse("ui:layer-features", args=[layer.pk]) in page


def _upload(name: str, seed: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, image_bytes(seed=seed, size=64), content_type="image/png")


def test_it_counts_open_alerts_on_the_machine_card(operator_session, scored_layers):
    from apps.alerts.models import Alert

    Alert.objects.create(machine=scored_layers[0].machine, job=scored_layers[0].job,
                         severity="warning", reason="test", last_layer_index=11)
    body = operator_session.get(reverse("ui:dashboard-cards")).content.decode()
    assert 'data-testid="alerts">1 open alert<' in body
