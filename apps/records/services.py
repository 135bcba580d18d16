"""Defect kinds of heatmap regions: their features, a per-machine classifier fitted lazily on the
regions of layers labeled with a kind, and the likely kind of each region. Regions are described
when first read (an alert's message, the layer page, the build record), never during scoring."""

import hashlib
import logging
from collections import Counter
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from apps.layers.models import DefectKind, Label, LabelValue, Layer
from apps.machines.models import Machine
from apps.parts.selectors import layer_part_regions
from apps.records.heatmaps import score_frames
from apps.records.models import KindModel, RegionKind
from apps.scoring.models import LayerScore
from ml.kinds import KindClassifier, region_features

logger = logging.getLogger(__name__)


# Each process keeps the classifiers it parsed, by machine, with the fit they came from.
_classifiers: dict[int, tuple[datetime, KindClassifier]] = {}


def machine_kind_classifier(*, machine: Machine) -> tuple[KindModel, KindClassifier] | None:
    """The machine's stored classifier (refitted first where its labels changed) and its parsed
    form, parsed once per fit in each process; None where it has too few labeled regions."""
    model = kind_model_refresh(machine=machine)
    if model is None:
        _classifiers.pop(machine.pk, None)
        return None
    cached = _classifiers.get(machine.pk)
    if cached is None or cached[0] != model.fitted_at:
        cached = (model.fitted_at, KindClassifier.from_dict(model.classifier))
        _classifiers[machine.pk] = cached
    return model, cached[1]


def score_regions_describe(*, score: LayerScore) -> list[RegionKind]:
    """Features of each of the score's regions and, where the machine has a classifier, their
    likely kinds. Idempotent: rows already described by the current fit are left as they are."""
    rows = _region_rows(score)
    fitted = machine_kind_classifier(machine=score.layer.machine)
    if fitted is None:
        return rows
    model, classifier = fitted
    for row in rows:
        if row.fitted_at != model.fitted_at:
            row.kind, row.probability = classifier.predict(np.array(row.features))
            row.fitted_at = model.fitted_at
            row.save(update_fields=["kind", "probability", "fitted_at"])
    return rows


def layers_regions_describe(*, layers: list[Layer]) -> dict[int, list[RegionKind]]:
    """score_regions_describe for each layer's current score, by layer id."""
    described = {}
    for layer in layers:
        score = layer.current_score
        if score is not None and score.regions:
            described[layer.pk] = score_regions_describe(score=score)
    return described


def _region_rows(score: LayerScore) -> list[RegionKind]:
    rows = {row.region: row for row in RegionKind.objects.filter(score=score)}
    if len(rows) < len(score.regions):
        heat, image = score_frames(score)
        for index, region in enumerate(score.regions):
            if index in rows:
                continue
            features = region_features(heat=heat, image=image, box=region["box"]).tolist()
            try:
                with transaction.atomic():
                    rows[index] = RegionKind.objects.create(score=score, region=index, features=features)
            except IntegrityError:  # another worker described it first
                rows[index] = RegionKind.objects.get(score=score, region=index)
    return [rows[i] for i in sorted(rows)]


def _labeled_layers(machine: Machine):
    """The machine's scored layers whose latest label is defective with a kind (other than "other")."""
    latest = Label.objects.filter(layer=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Layer.objects.filter(machine=machine, label=LabelValue.DEFECTIVE, current_score__isnull=False)
        .annotate(kind=Subquery(latest.values("kind")[:1]))
        .exclude(kind__in=["", DefectKind.OTHER])
        .select_related("current_score", "machine")
    )


def _training_key(labeled: list[Layer]) -> str:
    """What a fit learns from: each labeled layer's kind and current score. A new kind label, a
    layer relabeled good or without a kind, or a rescored layer changes it."""
    seen = sorted((layer.pk, layer.current_score_id, layer.kind) for layer in labeled)
    return hashlib.sha256(repr(seen).encode()).hexdigest()


def kind_model_refresh(*, machine: Machine) -> KindModel | None:
    """The machine's classifier, fitted again when its labels changed since the last fit.

    A layer's strongest region stands for its labeled kind. Kinds with fewer than
    LAYERWATCH_KIND_MIN_REGIONS regions are left out; with fewer than LAYERWATCH_KIND_MIN_KINDS
    kinds left there is no classifier (None).
    """
    labeled = list(_labeled_layers(machine))
    key = _training_key(labeled)
    model = KindModel.objects.filter(machine=machine).first()
    if model is not None and model.labels_key == key:
        return model
    features, kinds = [], []
    for layer in labeled:
        if not layer.current_score.regions:
            continue
        features.append(_region_rows(layer.current_score)[0].features)
        kinds.append(layer.kind)
    counts = Counter(kinds)
    enough = {k: n for k, n in counts.items() if n >= settings.LAYERWATCH_KIND_MIN_REGIONS}
    if len(enough) < settings.LAYERWATCH_KIND_MIN_KINDS:
        KindModel.objects.filter(machine=machine).delete()
        return None
    keep = [i for i, k in enumerate(kinds) if k in enough]
    classifier = KindClassifier.fit(np.array([features[i] for i in keep]), [kinds[i] for i in keep])
    model, _ = KindModel.objects.update_or_create(
        machine=machine, defaults={"classifier": classifier.to_dict(), "counts": enough, "labels_key": key}
    )
    logger.info("Fitted the kind classifier of %s on %s", machine.slug, enough)
    return model


def job_layers_likely_kind(*, job_id: int, indexes) -> str:
    """'likely streak, 0.83 (layer 42)' for the strongest named region of these layers, or ''.

    For the alert's message; a region that cannot be described (a missing file) names nothing
    rather than holding the alert back.
    """
    layers = list(
        Layer.objects.filter(job_id=job_id, index__in=list(indexes)).select_related("current_score", "machine")
    )
    try:
        # Without a classifier there is no kind to name: the regions' files are not even read.
        if not layers or machine_kind_classifier(machine=layers[0].machine) is None:
            return ""
        described = layers_regions_describe(layers=layers)
    except Exception:
        logger.exception("Could not describe the regions of job %s", job_id)
        return ""
    named = [
        (layer.current_score.regions[row.region]["peak"], row.probability, layer.index, row)
        for layer in layers
        for row in described.get(layer.pk, [])
        if row.kind
    ]
    if not named:
        return ""
    *_, index, row = max(named, key=lambda item: item[:2])
    return f"{row.likely} (layer {index})"


def score_regions_describe_or_none(*, score: LayerScore | None) -> list[RegionKind]:
    """score_regions_describe for a page: nothing (logged) where a stored file cannot be read."""
    if score is None or not score.regions:
        return []
    try:
        return score_regions_describe(score=score)
    except (OSError, ValueError):
        logger.exception("Could not describe the regions of score %s", score.pk)
        return []


def layer_regions_describe(*, layer: Layer) -> list[dict]:
    """The layer's current regions as the layer API gives them: each with the parts it counts
    against (apps.parts.selectors.layer_part_regions) and its `likely_kind` with
    `likely_kind_probability`, None where the machine has no classifier or the heatmap is unreadable."""
    regions = layer_part_regions(layer=layer)
    named = {}
    # Without a classifier there is no kind to name: the heatmap is not even read.
    if regions and machine_kind_classifier(machine=layer.machine) is not None:
        named = {row.region: row for row in score_regions_describe_or_none(score=layer.current_score) if row.kind}
    for index, region in enumerate(regions):
        row = named.get(index)
        region["likely_kind"] = row.kind if row else None
        region["likely_kind_probability"] = row.probability if row else None
    return regions
