"""Filters that place heatmap regions on an image and say how large they are."""

from django import template

register = template.Library()


@register.filter
def css_percent(fraction: float) -> str:
    """0.125 -> "12.5%", always with a dot: it goes into a style attribute, whatever the locale."""
    return f"{float(fraction) * 100:.3f}%"


@register.filter
def share(fraction: float) -> str:
    """A share of the image for people: "2.4%", or "<0.1%" for a speck."""
    percent = float(fraction) * 100
    return "<0.1%" if percent < 0.1 else f"{percent:.1f}%"
