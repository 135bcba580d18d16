"""Plain-language lines of the build record."""

from django import template

register = template.Library()

_METHODS = {
    "fpr_target": "threshold at the target false-alarm rate on held-out good layers",
    "head_f1_sweep": "a head fitted on labeled layers, threshold by the best F1 in cross-validation",
}


@register.filter
def calibration_text(version) -> str:
    details = dict((version.metrics or {}).get("calibration") or {})
    method = version.calibration_method or details.get("method") or ""
    details.pop("method", None)
    text = f"{method}: {_METHODS[method]}" if method in _METHODS else (method or "not recorded")
    extras = ", ".join(
        f"{key.replace('_', ' ')} {_number(value)}"
        for key, value in details.items()
        if isinstance(value, int | float | bool | str)
    )
    return f"{text} ({extras})" if extras else text


@register.filter
def training_text(version) -> str:
    data = version.training_set or {}
    if not data:
        return "not recorded"
    parts = [
        f"{len(data.get('train_layer_ids') or [])} layers ({data.get('source', 'unknown source')})",
        f"{len(data.get('holdout_layer_ids') or [])} held out",
    ]
    if data.get("defective_layer_ids"):
        parts.append(f"{len(data['defective_layer_ids'])} labeled defective")
    if data.get("epochs"):
        parts.append(f"{data['epochs']} epochs")
    return ", ".join(parts)


@register.filter
def evaluation_text(version) -> str:
    metrics = version.metrics or {}
    names = ("auroc", "precision", "recall", "f1")
    return ", ".join(f"{name.upper() if name == 'auroc' else name} {_number(metrics[name])}"
                     for name in names if isinstance(metrics.get(name), int | float))


@register.filter
def ratio(score) -> str:
    return f"{score.score / score.threshold:.2f}" if score.threshold else "–"


@register.filter
def box_style(region: dict) -> str:
    box = region["box_fraction"]
    return (f"left:{box['x'] * 100:.2f}%;top:{box['y'] * 100:.2f}%;"
            f"width:{box['width'] * 100:.2f}%;height:{box['height'] * 100:.2f}%")


@register.filter
def percent(share: float) -> str:
    return f"{share * 100:.2g}%"


@register.filter
def alert_layers(alert) -> str:
    indexes = sorted(layer.index for layer in alert.layers.all())
    return ", ".join(str(i) for i in indexes) or "–"


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
