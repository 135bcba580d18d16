"""The evidence zip: the record (HTML, PDF and JSON), layer images, heatmaps and a manifest.

manifest.json lists every other file of the zip with its SHA-256, so a reader can check that
nothing was changed since layerwatch wrote it.
"""

import hashlib
import json
import logging
import os
import zipfile
from typing import IO

from django.core.serializers.json import DjangoJSONEncoder

from apps.layers.models import Layer
from apps.records.rendering import record_html, record_pdf
from apps.records.selectors import JobRecord

MANIFEST = "manifest.json"
logger = logging.getLogger(__name__)


def _image_path(layer: Layer) -> str:
    extension = os.path.splitext(layer.image.name)[1] or ".png"
    return f"images/layer-{layer.index:06d}{extension}"


def _heatmap_path(layer: Layer) -> str:
    return f"heatmaps/layer-{layer.index:06d}.png"


def file_assets(layer: Layer, what: str) -> str:
    """Paths inside the zip, so that record.html shows its images once unpacked."""
    return _heatmap_path(layer) if what == "heatmap" else _image_path(layer)


def record_json(record: JobRecord) -> bytes:
    job = record.job
    data = {
        "machine": {"name": job.machine.name, "slug": job.machine.slug},
        "job": {"id": job.pk, "job": job.job_id, "name": job.name, "status": job.status,
                "started_at": job.started_at, "finished_at": job.finished_at,
                "expected_layers": job.expected_layers, "layers": record.layer_count, "scored": record.scored_count},
        "generated_at": record.generated_at,
        "model_versions": [
            {"version": v.version, "scorer": v.scorer, "sha256": v.sha256, "threshold": v.threshold,
             "calibration_method": v.calibration_method, "calibration": (v.metrics or {}).get("calibration"),
             "layers_scored": v.layers_scored}
            for v in record.versions
        ],
        "parts": {"available": record.parts.available, "note": record.parts.note,
                  "rows": [_part(p) for p in record.parts.rows]},
        "anomalous_layers": [
            {"layer": rl.layer.index, "id": rl.layer.pk, "score": rl.layer.current_score.score,
             "threshold": rl.layer.current_score.threshold, "label": rl.layer.label,
             "image": _image_path(rl.layer), "heatmap": _heatmap_path(rl.layer),
             "regions": [{**r.region, "kind": r.kind.kind if r.kind else "",
                          "kind_probability": r.kind.probability if r.kind else None} for r in rl.regions]}
            for rl in record.anomalous
        ],
        "alerts": [
            {"id": a.pk, "severity": a.severity, "status": a.status, "reason": a.reason, "opened_at": a.opened_at,
             "layers": sorted(layer.index for layer in a.layers.all()),
             "acknowledged_by": a.acknowledged_by.username if a.acknowledged_by else None,
             "acknowledged_at": a.acknowledged_at,
             "resolved_by": a.resolved_by.username if a.resolved_by else None,
             "resolved_at": a.resolved_at, "outcome": a.outcome}
            for a in record.alerts
        ],
        "labels": [
            {"layer": label.layer.index, "label": label.value, "kind": label.kind, "source": label.source,
             "user": label.user.username if label.user else None, "created_at": label.created_at}
            for label in record.labels
        ],
    }
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2).encode()


def _part(summary) -> dict:
    fields = ("part_id", "name", "estimated", "layers", "anomalous_layers", "anomalous_ranges", "worst_score",
              "largest_region_px", "defect_kinds", "alert_ids", "verdict", "bbox")
    return {name: getattr(summary, name, None) for name in fields}


def evidence_layers(record: JobRecord, *, all_layers: bool) -> list[Layer]:
    """The anomalous layers, those of alerts and the labeled ones; or every layer of the job."""
    if all_layers:
        return list(Layer.objects.filter(job=record.job).select_related("current_score").order_by("index"))
    ids = {rl.layer.pk for rl in record.anomalous} | {label.layer_id for label in record.labels}
    ids |= {layer.pk for alert in record.alerts for layer in alert.layers.all()}
    return list(Layer.objects.filter(pk__in=ids).select_related("current_score").order_by("index"))


def _read(field) -> bytes | None:
    """The stored file's bytes; None (logged) for none or one that is gone from storage."""
    if not field:
        return None
    try:
        with field.open("rb") as handle:
            return handle.read()
    except OSError:
        logger.exception("%s is missing from storage; the evidence zip goes without it", field.name)
        return None


def evidence_zip_write(record: JobRecord, target: IO[bytes], *, all_layers: bool = False) -> list[dict]:
    """Writes the zip to `target` and returns the manifest's rows."""
    rows = []
    with zipfile.ZipFile(target, "w") as archive:

        def add(path: str, data: bytes, *, compress: bool) -> None:
            archive.writestr(path, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
            rows.append({"path": path, "sha256": hashlib.sha256(data).hexdigest()})

        add("record.html", record_html(record, assets=file_assets, mode="file").encode(), compress=True)
        add("record.pdf", record_pdf(record), compress=True)
        add("record.json", record_json(record), compress=True)
        for layer in evidence_layers(record, all_layers=all_layers):
            heatmap = layer.current_score.heatmap if layer.current_score is not None else None
            for path, field in ((_image_path(layer), layer.image), (_heatmap_path(layer), heatmap)):
                data = _read(field)
                if data is not None:
                    add(path, data, compress=False)
        archive.writestr(MANIFEST, json.dumps({"files": rows}, indent=2), compress_type=zipfile.ZIP_DEFLATED)
    return rows
