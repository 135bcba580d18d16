"""A small fleet for the permission matrix: two printers, layers, a score, an alert, model versions."""

from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile

from apps.alerts.models import Alert
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.machines.services import MachineWithToken, machine_create
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.rendering import grayscale_png, heatmap_png
from tests.images import image_bytes


@dataclass
class Fleet:
    own: MachineWithToken  # the printer whose data the paths name
    other: MachineWithToken
    layer: Layer
    other_layer: Layer
    alert: Alert
    ready_version: ModelVersion

    def path_values(self) -> dict:
        return {
            "slug": self.own.machine.slug,
            "layer_id": self.layer.pk,
            "alert_id": self.alert.pk,
            "job_id": self.layer.job_id,
            "job_pk": self.layer.job_id,
            "version_id": self.ready_version.pk,
            "uidb64": "MQ",
            "token": "set-password",
        }


def fleet_build() -> Fleet:
    own, other = machine_create(name="Printer A"), machine_create(name="Printer B")
    active = ModelVersion.objects.create(
        machine=own.machine, version=1, scorer="seed", status=ModelVersion.Status.ACTIVE, threshold=1.0
    )
    ready = ModelVersion.objects.create(
        machine=own.machine, version=2, scorer="seed", status=ModelVersion.Status.READY, threshold=1.2
    )
    layers = [_layer(own, i) for i in range(3)]
    for layer in layers:
        _score(layer, active)
    alert = Alert.objects.create(
        machine=own.machine, job=layers[0].job, severity="warning", reason="3 of 5 anomalous", last_layer_index=2
    )
    alert.layers.add(*layers)
    return Fleet(own=own, other=other, layer=layers[0], other_layer=_layer(other, 0), alert=alert, ready_version=ready)


def fleet_remove(fleet: Fleet) -> None:
    from apps.machines.models import Machine

    machines = [fleet.own.machine.pk, fleet.other.machine.pk]
    Layer.objects.filter(machine__in=machines).update(current_score=None)
    LayerScore.objects.filter(layer__machine__in=machines).delete()
    Machine.objects.filter(pk__in=[fleet.own.machine.pk, fleet.other.machine.pk]).delete()


def _layer(machine: MachineWithToken, index: int) -> Layer:
    data = image_bytes(seed=index, size=32)
    return layer_ingest(machine=machine.machine, job_id="job-1", index=index, data=data, enqueue=False).layer


def _score(layer: Layer, version: ModelVersion) -> None:
    row = LayerScore(layer=layer, model_version=version, scorer="seed", score=1.5, threshold=1.0, anomalous=True)
    row.heatmap.save("heatmap.png", ContentFile(heatmap_png(np.ones((8, 8)), vmax=1.0)), save=False)
    row.reconstruction.save("reconstruction.png", ContentFile(grayscale_png(np.full((8, 8), 0.5))), save=False)
    row.save()
    Layer.objects.filter(pk=layer.pk).update(status=Layer.Status.SCORED, current_score=row)
