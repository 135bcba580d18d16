"""The record's score-by-layer chart: SVG with its colours in attributes, as a PDF renderer
draws SVG (WeasyPrint ignores CSS fill and stroke on inline SVG)."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.ui.charts import timeline_scales

WIDTH, HEIGHT, PAD = 1000, 240, 40
SCORE, THRESHOLD, BAD, AXIS = "#5d6d7e", "#b3261e", "#b3261e", "#8a93a6"


def record_timeline_svg(points: list[dict]) -> SafeString:
    """Score and threshold by layer, anomalous layers as red dots; `points` as apps.ui.selectors.job_timeline."""
    if not points:
        return format_html('<p class="muted">{}</p>', "No scored layers.")
    first, last, top, x, y = timeline_scales(points, width=WIDTH, height=HEIGHT, pad=PAD)
    score = " ".join(f"{x(p['index'])},{y(p['score'])}" for p in points)
    threshold = " ".join(f"{x(p['index'])},{y(p['threshold'])}" for p in points)
    dots = format_html_join(
        "", '<circle cx="{}" cy="{}" r="3.5" fill="{}"/>',
        ((x(p["index"]), y(p["score"]), BAD) for p in points if p["anomalous"]),
    )
    return format_html(
        '<svg class="record-timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        'role="img" aria-label="score by layer">'
        '<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" stroke="{axis}"/>'
        '<line x1="{p}" y1="{p}" x2="{p}" y2="{b}" stroke="{axis}"/>'
        '<text x="{p}" y="{lt}" font-size="13" fill="{axis}">layer {first}</text>'
        '<text x="{r}" y="{lt}" font-size="13" fill="{axis}" text-anchor="end">layer {last}</text>'
        '<text x="{p2}" y="{p}" font-size="13" fill="{axis}" text-anchor="end">{top}</text>'
        '<polyline points="{threshold}" fill="none" stroke="{tc}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        '<polyline points="{score}" fill="none" stroke="{sc}" stroke-width="1.2"/>{dots}</svg>',
        w=WIDTH, h=HEIGHT, p=PAD, p2=PAD - 4, r=WIDTH - PAD, b=HEIGHT - PAD, lt=HEIGHT - PAD + 18,
        axis=AXIS, first=first, last=last, top=f"{top:.3g}", threshold=threshold, score=score,
        tc=THRESHOLD, sc=SCORE, dots=dots,
    )
