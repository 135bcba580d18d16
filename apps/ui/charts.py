"""A job's score-by-layer chart as inline SVG, drawn on the server: no chart library to ship."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 1000, 260, 36


def timeline_scales(points: list[dict], *, width: int, height: int, pad: int):
    """First and last layer index, the score at the top of the chart, and the functions that place
    a layer index (x) and a score (y) on a chart of that size; scores above `top` sit at the top."""
    first, last = points[0]["index"], points[-1]["index"]
    top = max(max(p["score"] for p in points), max(p["threshold"] for p in points) * 1.2) or 1.0

    def x(index: int) -> float:
        return round(pad + (index - first) / max(last - first, 1) * (width - 2 * pad), 1)

    def y(value: float) -> float:
        return round(height - pad - min(value / top, 1.0) * (height - 2 * pad), 1)

    return first, last, top, x, y


def timeline_svg(points: list[dict]) -> SafeString:
    if not points:
        return format_html('<p class="muted">{}</p>', "No scored layers yet.")
    first, last, top, x, y = timeline_scales(points, width=WIDTH, height=HEIGHT, pad=PAD)
    bands = _group_bands(points, x)
    line = " ".join(f"{x(p['index'])},{y(p['score'])}" for p in points)
    threshold = " ".join(f"{x(p['index'])},{y(p['threshold'])}" for p in points)
    dots = format_html_join(
        "",
        '<a href="{}"><circle class="{}" cx="{}" cy="{}" r="{}" data-layer="{}">'
        "<title>layer {}: {}</title></circle></a>",
        (
            (
                reverse("ui:layer-detail", args=[p["id"]]),
                "dot bad" if p["anomalous"] else "dot",
                x(p["index"]),
                y(p["score"]),
                4 if p["anomalous"] else 2.5,
                p["index"],
                p["index"],
                f"{p['score']:.4g}",
            )
            for p in points
        ),
    )
    return format_html(
        '<svg class="timeline" viewBox="0 0 {w} {h}" role="img" aria-label="score by layer">'
        '<line class="axis" x1="{p}" y1="{b}" x2="{r}" y2="{b}"/>'
        '<text x="{p}" y="{lt}" class="tick">{first}</text>'
        '<text x="{r}" y="{lt}" class="tick" text-anchor="end">{last}</text>'
        '<text x="4" y="{p}" class="tick">{top}</text>{bands}'
        '<polyline class="threshold" points="{threshold}"/>'
        '<polyline class="score" points="{line}"/>{dots}</svg>',
        w=WIDTH,
        h=HEIGHT,
        p=PAD,
        r=WIDTH - PAD,
        b=HEIGHT - PAD,
        lt=HEIGHT - PAD + 16,
        first=first,
        last=last,
        top=f"{top:.3g}",
        threshold=threshold,
        line=line,
        dots=dots,
        bands=bands,
    )


def _group_bands(points: list[dict], x) -> SafeString:
    """A shaded band per run of consecutive layers in the same layer group, labelled with it."""
    runs: list[list] = []  # [group, first index, last index]
    for p in points:
        group = p.get("group")
        if runs and runs[-1][0] == group:
            runs[-1][2] = p["index"]
        else:
            runs.append([group, p["index"], p["index"]])
    if all(group is None for group, _, _ in runs):
        return mark_safe("")  # noqa: S308 - a constant
    half = (x(points[-1]["index"]) - x(points[0]["index"])) / max(len(points) - 1, 1) / 2
    return format_html_join(
        "",
        '<g class="group-band g{}" data-group="{}"><rect x="{}" y="{}" width="{}" height="{}"/>'
        '<text x="{}" y="{}" class="tick">group {}</text><title>layers {}-{}: group {}</title></g>',
        (
            (
                group % 2,
                group,
                round(x(first) - half, 1),
                PAD,
                round(x(last) - x(first) + 2 * half, 1),
                HEIGHT - 2 * PAD,
                round(x(first) - half + 3, 1),
                PAD + 12,
                group,
                first,
                last,
                group,
            )
            for group, first, last in runs
            if group is not None
        ),
    )
