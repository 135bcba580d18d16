"""Reading parts: each region's part, and each part's summary over a job.

Regions are attributed when read, from the regions stored with the layer's current score and the
part labels stored with the layer, so a new score, later labels or a changed distance setting
show at once and scoring itself never waits on parts.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from apps.alerts.models import Alert
from apps.layers.models import Label, Layer, PrintJob
from apps.parts.models import LayerParts, PartVerdictRule
from apps.parts.services import frame_unpack
from ml.parts.attribution import Attribution, attribute_region, nearest_parts
from ml.parts.labels import FRAME


@dataclass(frozen=True)
class PartSummary:
    part_id: int  # the label value k; 0 is never a part
    name: str
    estimated: bool
    layers: tuple[int, int] | None  # first and last layer index spanned
    anomalous_layers: list[int]
    anomalous_ranges: list[tuple[int, int]]
    worst_score: float | None  # the highest region peak on the part, in multiples of the threshold
    largest_region_px: int  # image pixels
    defect_kinds: list[str]
    alert_ids: list[int]
    verdict: str  # "pass", "review" or "fail"
    bbox: tuple[int, int, int, int] | None  # x0, y0, x1, y1 in image pixels, union over layers


@dataclass
class _Tally:
    layers: set[int] = field(default_factory=set)
    bbox: list[int] | None = None
    anomalous: set[int] = field(default_factory=set)
    peak: float | None = None
    largest: int = 0


def part_verdict_rule() -> PartVerdictRule:
    """The rule that applies: the first one (a data migration creates it; saving the defaults
    creates it again if it was deleted)."""
    return PartVerdictRule.objects.order_by("pk").first() or PartVerdictRule()  # the defaults, unsaved


def part_verdict(*, rule: PartVerdictRule, anomalous_layers: int, largest_region_px: int, kinds: list[str]) -> str:
    if (
        anomalous_layers >= rule.fail_anomalous_layers
        or largest_region_px >= rule.fail_region_px
        or set(kinds) & set(rule.fail_kinds)
    ):
        return "fail"
    return "review" if anomalous_layers >= rule.review_anomalous_layers else "pass"


def _damage_distance(layer: Layer) -> float:
    """The part-damage distance setting (image px) on the model frame."""
    return settings.LAYERWATCH_PART_DAMAGE_DISTANCE_PX * FRAME / max(layer.width, layer.height, 1)


def _attributions(layer: Layer, parts: LayerParts | None) -> list[tuple[dict, Attribution]]:
    score = layer.current_score
    regions = list(score.regions or []) if score is not None else []
    if not regions or parts is None:
        return [(r, Attribution(part_id=0, part_ids=(), part_damage=False)) for r in regions]
    frame = frame_unpack(parts.frame)
    nearest = nearest_parts(frame)
    distance = _damage_distance(layer)
    return [(r, attribute_region(_frame_box(r), frame, damage_distance=distance, nearest=nearest)) for r in regions]


def _frame_box(region: dict) -> dict:
    """The region's box on the part-label frame, from its fractions of the image: they hold
    whatever size the scorer's own frame is."""
    fraction = region.get("box_fraction")
    if not fraction:
        return region["box"]
    return {key: value * FRAME for key, value in fraction.items()}


def _region_px(region: dict, layer: Layer) -> int:
    """The region's area in image pixels."""
    if "area_fraction" in region:
        return int(round(region["area_fraction"] * layer.width * layer.height))
    return int(round(region["area"] * layer.width * layer.height / (FRAME * FRAME)))


def layer_part_regions(*, layer: Layer) -> list[dict]:
    """The layer's current regions, each with the part it counts against (`part_id`, 0 for
    powder), every part it touches (`part_ids`) and whether it is powder next to the part
    (`part_damage`). Without part labels every region is on powder."""
    parts = LayerParts.objects.filter(layer=layer).first()
    return [
        {**region, "part_id": a.part_id, "part_ids": list(a.part_ids), "part_damage": a.part_damage}
        for region, a in _attributions(layer, parts)
    ]


def _union(box: list[int] | None, other: list[int]) -> list[int]:
    if box is None:
        return list(other)
    return [min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3])]


def _ranges(indices: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for index in indices:
        if ranges and index == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], index)
        else:
            ranges.append((index, index))
    return ranges


def _layer_kinds(layer_ids: list[int]) -> dict[int, str]:
    """The defect kind of each layer's latest label, where labels record one."""
    if not any(f.name == "kind" for f in Label._meta.get_fields()) or not layer_ids:
        return {}
    kinds: dict[int, str] = {}
    for layer_id, kind in Label.objects.filter(layer_id__in=layer_ids).order_by("-created_at", "-id").values_list(
        "layer_id", "kind"
    ):
        kinds.setdefault(layer_id, kind)
    return {k: v for k, v in kinds.items() if v}


def _alerts_by_layer(job: PrintJob) -> dict[int, set[int]]:
    by_layer: dict[int, set[int]] = defaultdict(set)
    for alert_id, layer_id in Alert.layers.through.objects.filter(alert__job=job).values_list("alert_id", "layer_id"):
        by_layer[layer_id].add(alert_id)
    return by_layer


def job_part_summaries(*, job: PrintJob) -> list[PartSummary]:
    """Each part of the job, sent or estimated, with its anomalous layers and verdict, by id.

    Sent labels win: estimated parts are listed only for a job whose printer sent none, and
    only those seen on at least LAYERWATCH_ESTIMATED_PART_MIN_LAYERS layers.
    """
    rows = list(
        LayerParts.objects.filter(layer__job=job).select_related("layer", "layer__current_score")
    )
    if not rows:
        return []
    estimated = not any(not r.estimated for r in rows)
    rows = [r for r in rows if r.estimated == estimated]
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    for row in rows:
        for key, extent in row.extents.items():
            tally = tallies[int(key)]
            tally.layers.add(row.layer.index)
            tally.bbox = _union(tally.bbox, extent["bbox"])
    if estimated:
        keep = settings.LAYERWATCH_ESTIMATED_PART_MIN_LAYERS
        tallies = defaultdict(_Tally, {k: t for k, t in tallies.items() if len(t.layers) >= keep})
    part_layers: dict[int, set[int]] = defaultdict(set)  # layer ids of each part's anomalous layers
    for row in rows:
        layer = row.layer
        if layer.current_score is None or not layer.current_score.anomalous:
            continue
        for region, attribution in _attributions(layer, row):
            for part_id in attribution.part_ids:
                if part_id not in tallies:
                    continue
                tally = tallies[part_id]
                tally.anomalous.add(layer.index)
                part_layers[part_id].add(layer.pk)
                tally.peak = max(tally.peak or 0.0, float(region["peak"]))
                tally.largest = max(tally.largest, _region_px(region, layer))
    kinds = _layer_kinds([pk for ids in part_layers.values() for pk in ids])
    alerts = _alerts_by_layer(job)
    names = getattr(job, "part_names", None) or {}
    rule = part_verdict_rule()
    summaries = []
    for part_id in sorted(tallies):
        tally = tallies[part_id]
        anomalous = sorted(tally.anomalous)
        part_kinds = sorted({kinds[pk] for pk in part_layers[part_id] if pk in kinds})
        summaries.append(
            PartSummary(
                part_id=part_id,
                name=names.get(str(part_id)) or f"{'Estimated part' if estimated else 'Part'} {part_id}",
                estimated=estimated,
                layers=(min(tally.layers), max(tally.layers)) if tally.layers else None,
                anomalous_layers=anomalous,
                anomalous_ranges=_ranges(anomalous),
                worst_score=tally.peak,
                largest_region_px=tally.largest,
                defect_kinds=part_kinds,
                alert_ids=sorted({a for pk in part_layers[part_id] for a in alerts.get(pk, ())}),
                verdict=part_verdict(
                    rule=rule, anomalous_layers=len(anomalous), largest_region_px=tally.largest, kinds=part_kinds
                ),
                bbox=tuple(tally.bbox) if tally.bbox else None,
            )
        )
    return summaries


def job_layer_part_extents(*, job: PrintJob) -> dict[int, dict[int, dict]]:
    """Per layer index, each part's box and area in image pixels ({"bbox": [x0, y0, x1, y1],
    "area": n}), as the parts summaries count them (sent labels, else estimated ones): what a
    build-volume view stacks. One query, no images read."""
    rows = list(LayerParts.objects.filter(layer__job=job).values_list("layer__index", "estimated", "extents"))
    estimated = not any(not e for _, e, _ in rows)
    return {
        index: {int(k): v for k, v in extents.items()}
        for index, was_estimated, extents in sorted(rows, key=lambda r: r[0])
        if was_estimated == estimated
    }


def layer_part_frame(*, layer: Layer) -> np.ndarray | None:
    """The layer's part labels on the 256x256 model frame (uint16, 0 for powder), or None."""
    data = LayerParts.objects.filter(layer=layer).values_list("frame", flat=True).first()
    return None if data is None else frame_unpack(data)
