"""The consistency checks on an alert rule, shared by the REST API and the UI form."""

from collections.abc import Mapping


def alert_rule_errors(values: Mapping) -> dict[str, str]:
    """Returns {field: message} for values that contradict each other; missing values are skipped."""
    errors: dict[str, str] = {}
    n = values.get("window_layers")
    for name in ("k_warning", "k_critical"):
        if n is not None and values.get(name) is not None and values[name] > n:
            errors[name] = f"Cannot exceed the window n ({n})."
    k_warning, k_critical = values.get("k_warning"), values.get("k_critical")
    if k_warning and k_critical and k_warning > k_critical and "k_critical" not in errors:
        errors["k_critical"] = "Must be at least k warning."
    alpha = values.get("ewm_alpha")
    if alpha is not None and not 0 < alpha <= 1:
        errors["ewm_alpha"] = "Must be above 0 and at most 1."
    warning, critical = values.get("ewm_warning"), values.get("ewm_critical")
    if warning is not None and critical is not None and critical < warning:
        errors["ewm_critical"] = "Must be at least the EWM warning."
    return errors
