"""The build volume: where a job's anomalies sit across the bed and through its layers.

Each region of an anomalous layer (LayerScore.regions, boxes as fractions of the frame) spreads
its area evenly over the bins its box covers, seen from the front (x by layer) and from the
side (y by layer). Jobs with more layers than MAX_ROWS are shown in buckets of layers.
"""

import numpy as np

from apps.layers.models import Layer, PrintJob
from apps.records.models import RegionKind
from apps.records.selectors import PartsSection, job_parts

BINS = 64
MAX_ROWS = 600


def _bins(start: float, extent: float) -> range:
    first = min(int(start * BINS), BINS - 1)
    return range(first, max(min(int(np.ceil((start + extent) * BINS)), BINS), first + 1))


def _outline(summary, width: int, height: int) -> dict | None:
    if summary.bbox is None or summary.layers is None or not width or not height:
        return None
    x0, y0, x1, y1 = summary.bbox
    return {"id": summary.part_id, "name": summary.name, "verdict": summary.verdict, "estimated": summary.estimated,
            "x": [x0 / width, x1 / width], "y": [y0 / height, y1 / height], "layers": list(summary.layers)}


def job_volume(*, job: PrintJob, parts_selector=job_parts) -> dict:
    """The side projections, the regions as points and the part outlines, as JSON-ready data."""
    layers = list(Layer.objects.filter(job=job).order_by("index").values_list("index", "pk", "width", "height"))
    if not layers:
        return {"job": job.pk, "bins": BINS, "rows": [], "targets": [], "x_layer": [], "y_layer": [],
                "points": [], "parts": [], "parts_note": ""}
    first, last = layers[0][0], layers[-1][0]
    step = max(1, -(-(last - first + 1) // MAX_ROWS))
    n_rows = (last - first) // step + 1
    x_layer, y_layer = np.zeros((n_rows, BINS)), np.zeros((n_rows, BINS))
    ids = {index: pk for index, pk, _, _ in layers}
    best = np.full(n_rows, -1.0)
    targets = [ids.get(first + row * step) or next(pk for i, pk, _, _ in layers if i >= first + row * step)
               for row in range(n_rows)]
    points = []
    scored = Layer.objects.filter(job=job, current_score__anomalous=True).values_list(
        "index", "pk", "current_score__regions", "current_score__score", "current_score__threshold", "current_score")
    kinds = {(row.score_id, row.region): row.likely
             for row in RegionKind.objects.filter(score__layer__job=job).exclude(kind="")}
    for index, pk, regions, score, threshold, score_id in scored:
        row = (index - first) // step
        if score / (threshold or 1) > best[row]:  # a bucket opens its strongest layer
            best[row], targets[row] = score / (threshold or 1), pk
        for number, region in enumerate(regions or []):
            box = region["box_fraction"]
            for target, start, extent in ((x_layer, box["x"], box["width"]), (y_layer, box["y"], box["height"])):
                covered = _bins(start, extent)
                target[row, covered.start : covered.stop] += region["area"] / len(covered)
            points.append({"layer": index, "id": pk, "x": box["x"] + box["width"] / 2,
                           "y": box["y"] + box["height"] / 2, "area": region["area"], "peak": region["peak"],
                           "kind": kinds.get((score_id, number), "")})
    parts: PartsSection = parts_selector(job=job)
    width, height = layers[0][2], layers[0][3]
    outlines = [o for o in (_outline(p, width, height) for p in parts.rows) if o is not None]
    return {
        "job": job.pk,
        "bins": BINS,
        "rows": [first + row * step for row in range(n_rows)],
        "layers_per_row": step,
        "targets": targets,
        "x_layer": x_layer.round(2).tolist(),
        "y_layer": y_layer.round(2).tolist(),
        "points": points,
        "parts": outlines,
        "parts_note": parts.note,
    }
