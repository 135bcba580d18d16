import pytest
from django.contrib import admin

from apps.layers.models import Label, Layer, PrintJob
from apps.layers.services import label_submit, layer_ingest
from apps.machines.models import Machine
from apps.scoring.models import LayerScore, ModelVersion
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    django_user_model.objects.create_superuser("ada", password="pw")
    client.login(username="ada", password="pw")
    return client


@pytest.fixture
def layers(printer):
    return [layer_ingest(machine=printer.machine, job_id="J", index=i, data=image_bytes(seed=i), enqueue=False).layer
            for i in range(3)]


def test_it_registers_every_core_model():
    for model in [Machine, PrintJob, Layer, LayerScore, Label, ModelVersion]:
        assert admin.site.is_registered(model), model


def test_it_filters_layers_by_machine_job_status_anomalous_and_label(
    admin_client_logged_in, layers, printer, other_printer
):
    # Django hides a related filter with a single choice, so give it two machines and two jobs.
    layer_ingest(machine=other_printer.machine, job_id="K", index=0, data=image_bytes(seed=9), enqueue=False)
    response = admin_client_logged_in.get("/admin/layers/layer/")
    assert response.status_code == 200
    filters = {str(spec.title) for spec in response.context["cl"].filter_specs}
    assert {"machine", "job", "status", "anomalous", "label"} <= filters
    filtered = admin_client_logged_in.get(f"/admin/layers/layer/?machine__id__exact={printer.machine.pk}&anomalous=yes")
    assert filtered.status_code == 200 and filtered.context["cl"].result_count == 0


def test_it_labels_selected_layers_with_a_bulk_action(admin_client_logged_in, layers):
    response = admin_client_logged_in.post(
        "/admin/layers/layer/",
        {"action": "mark_defective", "_selected_action": [layers[0].pk, layers[2].pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert set(Layer.objects.filter(label="defective").values_list("pk", flat=True)) == {layers[0].pk, layers[2].pk}
    assert Label.objects.filter(source=Label.Source.ADMIN_BULK, value="defective").count() == 2
    admin_client_logged_in.post("/admin/layers/layer/", {"action": "mark_good", "_selected_action": [layers[0].pk]})
    assert Layer.objects.get(pk=layers[0].pk).label == "good"


def test_it_shows_image_thumbnails_in_the_label_list(admin_client_logged_in, layers):
    label_submit(layer=layers[1], value="good")
    response = admin_client_logged_in.get("/admin/layers/label/")
    assert f'src="/api/v1/layers/{layers[1].pk}/image/"'.encode() in response.content


def test_it_sends_a_test_alert_from_the_machine_admin(admin_client_logged_in, printer):
    from apps.alerts.models import Delivery, NotificationChannel

    NotificationChannel.objects.create(name="shift lead", machine=printer.machine, kind="email",
                                       recipients="lead@example.com")
    response = admin_client_logged_in.post(
        "/admin/machines/machine/", {"action": "send_test_alert", "_selected_action": [printer.machine.pk]}, follow=True
    )
    assert b"test alert queued to 1 channel" in response.content
    assert Delivery.objects.filter(machine=printer.machine, event="test").count() == 1


def test_it_shows_a_model_versions_label_head_read_only(admin_client_logged_in, printer):
    version = ModelVersion.objects.create(machine=printer.machine, version=1, scorer="seed",
                                          head={"weights": [1.0], "bias": 0.0})
    response = admin_client_logged_in.get(f"/admin/scoring/modelversion/{version.pk}/change/")
    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    assert "head" not in form_fields and "metrics" not in form_fields
    assert "head" in response.context["adminform"].readonly_fields
