"""Retention removes old layer files but never a protected layer's; deleting a job removes its files."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from apps.alerts.models import Alert
from apps.layers import files
from apps.layers.files import job_delete, machine_disk_usage, retention_apply, retention_protection
from apps.layers.models import Layer, PrintJob
from apps.layers.services import label_submit, layer_ingest
from apps.scoring.models import LayerScore
from apps.scoring.services import layers_score
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


def stored(machine, index, *, days_old=0, job="J"):
    layer = layer_ingest(machine=machine, job_id=job, index=index, data=image_bytes(seed=index), enqueue=False).layer
    Layer.objects.filter(pk=layer.pk).update(received_at=timezone.now() - timedelta(days=days_old))
    return Layer.objects.get(pk=layer.pk)


def image_exists(layer) -> bool:
    return layer.image.storage.exists(layer.image.name)


@pytest.fixture
def policy(settings):
    settings.LAYERWATCH_RETAIN_IMAGES_DAYS = 30
    settings.LAYERWATCH_RETAIN_HEATMAPS_DAYS = 0
    settings.LAYERWATCH_RETAIN_RECONSTRUCTIONS_DAYS = 0
    return settings


def test_it_removes_old_images_and_keeps_labeled_alerted_kept_and_recent_layers(printer, policy):
    machine = printer.machine
    old = stored(machine, 0, days_old=40)
    labeled = stored(machine, 1, days_old=40)
    label_submit(layer=labeled, value="good")
    alerted = stored(machine, 2, days_old=40)
    alert = Alert.objects.create(machine=machine, job=alerted.job, severity="warning", reason="r", last_layer_index=2)
    alert.layers.add(alerted)
    kept = stored(machine, 3, days_old=40)
    Layer.objects.filter(pk=kept.pk).update(keep=True)
    recent = stored(machine, 4, days_old=5)

    report = retention_apply()

    assert report.images == 1 and report.bytes > 0
    assert not image_exists(old)
    old.refresh_from_db()
    assert old.image.name == "" and old.files_removed_at is not None and old.sha256
    assert all(image_exists(layer) for layer in (labeled, alerted, kept, recent))
    assert retention_apply().images == 0  # nothing left to remove


def test_it_only_counts_in_a_dry_run(printer, policy):
    old = stored(printer.machine, 0, days_old=40)
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "Would remove 1 images" in out.getvalue() and "images 30 days" in out.getvalue()
    assert image_exists(old) and Layer.objects.get(pk=old.pk).files_removed_at is None
    call_command("apply_retention", stdout=out)
    assert "Removed 1 images" in out.getvalue() and not image_exists(old)


def test_it_keeps_everything_when_no_policy_is_set(printer, settings):
    settings.LAYERWATCH_RETAIN_IMAGES_DAYS = 0
    old = stored(printer.machine, 0, days_old=4000)
    assert retention_apply().images == 0 and image_exists(old)


def test_it_keeps_layers_another_app_protects(printer, policy, monkeypatch):
    monkeypatch.setattr(files, "_protections", [])
    protected = stored(printer.machine, 0, days_old=40)

    @retention_protection
    def in_a_build_record() -> Q:
        return Q(pk=protected.pk)

    assert retention_apply().images == 0 and image_exists(protected)


def test_it_removes_old_heatmaps_and_reconstructions_of_unprotected_layers(printer, install_model, settings):
    settings.LAYERWATCH_RETAIN_IMAGES_DAYS = 0
    settings.LAYERWATCH_RETAIN_HEATMAPS_DAYS = 10
    settings.LAYERWATCH_RETAIN_RECONSTRUCTIONS_DAYS = 10
    install_model(printer.machine)
    old, labeled = stored(printer.machine, 0), stored(printer.machine, 1)
    layers_score(layer_ids=[old.pk, labeled.pk])
    label_submit(layer=labeled, value="defective")
    LayerScore.objects.update(scored_at=timezone.now() - timedelta(days=11))
    old_score = LayerScore.objects.get(layer=old)
    heatmap_name = old_score.heatmap.name

    report = retention_apply()

    assert (report.heatmaps, report.reconstructions) == (1, 1)
    old_score.refresh_from_db()
    assert old_score.heatmap.name == "" and old_score.reconstruction.name == "" and old_score.score is not None
    assert not old_score.heatmap.storage.exists(heatmap_name)
    kept = LayerScore.objects.get(layer=labeled)
    assert kept.heatmap.storage.exists(kept.heatmap.name)


def test_it_deletes_a_jobs_files_with_the_job(printer, install_model, django_capture_on_commit_callbacks):
    install_model(printer.machine)
    layers = [stored(printer.machine, i, job="gone") for i in range(2)]
    other = stored(printer.machine, 0, job="stays")
    layers_score(layer_ids=[layer.pk for layer in layers])
    names = [layer.image.name for layer in layers]
    names += [name for s in LayerScore.objects.all() for name in (s.heatmap.name, s.reconstruction.name)]
    storage = layers[0].image.storage
    assert all(storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        job_delete(job=PrintJob.objects.get(job_id="gone"))
    assert not any(storage.exists(name) for name in names)
    assert not Layer.objects.filter(job__job_id="gone").exists() and image_exists(other)


def test_it_counts_a_machines_disk_use(printer, other_printer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cache.clear()
    assert machine_disk_usage(machine=printer.machine) == 0
    cache.clear()
    layers = [stored(printer.machine, i) for i in range(2)]
    stored(other_printer.machine, 0)
    assert machine_disk_usage(machine=printer.machine) == sum(layer.image.size for layer in layers)


def test_it_shows_disk_use_on_the_machine_page(client, operator, printer):
    stored(printer.machine, 0)
    client.force_login(operator)
    response = client.get(f"/machines/{printer.machine.slug}/")
    assert response.status_code == 200
    assert b"Disk use:" in response.content


def test_it_deletes_a_jobs_files_when_staff_delete_the_job_in_the_admin(admin_client, printer,
                                                                         django_capture_on_commit_callbacks):
    layer = stored(printer.machine, 0, job="gone")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/layers/printjob/{layer.job_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not PrintJob.objects.filter(pk=layer.job_id).exists() and not image_exists(layer)
