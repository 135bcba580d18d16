"""Alert rules as pure functions over a job's normalised scores (score / threshold).

A normalised score above 1 is an anomalous layer. Nothing here touches the database, so the
rules can be replayed over recorded or simulated jobs (tests, bench/alerts.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass

WARNING = "warning"
CRITICAL = "critical"
_RANK = {WARNING: 1, CRITICAL: 2}
# Scored layers the rules see per evaluation: enough for the weighted mean to forget its seed.
EWM_MEMORY = 64


@dataclass(frozen=True)
class RuleParams:
    warmup_layers: int = 10
    window_layers: int = 5
    k_warning: int = 2
    k_critical: int = 3
    ewm_alpha: float = 0.5
    ewm_warning: float = 1.0
    ewm_critical: float = 1.15
    cooldown_layers: int = 20


@dataclass(frozen=True)
class Point:
    index: int
    normalised: float


@dataclass(frozen=True)
class RuleDecision:
    """An alert the rules would raise on a job: how severe, why, and about which layers."""

    severity: str
    reason: str
    layer_indexes: tuple[int, ...]  # the layers the alert is about (fed back as labels)


def ewm(values: Sequence[float], alpha: float) -> float:
    """Exponentially weighted mean, seeded with the first value."""
    mean = values[0]
    for value in values[1:]:
        mean = alpha * value + (1 - alpha) * mean
    return mean


def rules_decide(*, params: RuleParams, points: Sequence[Point]) -> RuleDecision | None:
    """The most severe rule that fires on the window ending at the job's newest scored layer.

    `points` are the job's scored layers sorted by index. Layers inside the warm-up are ignored
    entirely: the first layers of a job are noisy (powder spreading, lighting settling).
    """
    points = [p for p in points if p.index >= params.warmup_layers]
    if not points:
        return None
    window = points[-params.window_layers :]
    anomalous = tuple(p.index for p in window if p.normalised > 1.0)
    level = ewm([p.normalised for p in points], params.ewm_alpha)
    for severity, k, limit in (
        (CRITICAL, params.k_critical, params.ewm_critical),
        (WARNING, params.k_warning, params.ewm_warning),
    ):
        if len(anomalous) >= k:
            reason = f"{len(anomalous)} of the last {len(window)} layers above threshold"
            return RuleDecision(severity, reason, anomalous)
        if level > limit:
            reason = f"weighted mean of normalised scores {level:.2f} above {limit:.2f}"
            return RuleDecision(severity, reason, anomalous or (points[-1].index,))
    return None


def in_cooldown(*, params: RuleParams, decision: RuleDecision, index: int, last_index: int, last_severity: str) -> bool:
    """A resolved alert holds back alerts of its severity or lower; a critical after a warning
    still fires, so an operator who dismissed a warning is not left blind to a real defect."""
    return index < last_index + params.cooldown_layers and _RANK[decision.severity] <= _RANK[last_severity]


def is_new_onset(*, params: RuleParams, decision: RuleDecision, points: Sequence[Point], last_index: int) -> bool:
    """Whether the decision's layers start a defect of their own: they come after the last alert's
    layers, past a quiet stretch (a rule window of layers at or below threshold) since then.

    Such an onset opens an alert of its own, whether the last alert is still open or was resolved,
    a false alarm included: an open alert must not swallow a new defect."""
    new = [i for i in decision.layer_indexes if i > last_index]
    if not new:
        return False
    run = longest = 0
    for p in sorted(points, key=lambda p: p.index):
        if last_index < p.index < min(new):
            run = run + 1 if p.normalised <= 1.0 else 0
            longest = max(longest, run)
    return longest >= params.window_layers


@dataclass(frozen=True)
class Firing:
    index: int
    severity: str
    escalation: bool


def rules_replay(*, params: RuleParams, points: Sequence[Point], resolve_at_once: bool = True) -> list[Firing]:
    """Feeds a job's scores through the rules one layer at a time, as the evaluation task does.

    With resolve_at_once an operator resolves each alert as soon as it opens, so only the cooldown
    holds the next one back; otherwise alerts stay open, so a job gets one alert, escalated from
    warning to critical at most once.
    """
    firings: list[Firing] = []
    open_severity: str | None = None
    last_index: int | None = None
    last_severity = WARNING
    ordered = sorted(points, key=lambda p: p.index)
    for end in range(1, len(ordered) + 1):
        window = ordered[max(0, end - max(params.window_layers, EWM_MEMORY)) : end]
        decision = rules_decide(params=params, points=window)
        if decision is None:
            continue
        index = ordered[end - 1].index
        onset = last_index is not None and is_new_onset(params=params, decision=decision, points=window,
                                                        last_index=last_index)
        if onset:
            open_severity = None
        elif open_severity is not None:
            last_index = index  # an open alert keeps absorbing layers; the cooldown runs from here
            if open_severity == WARNING and decision.severity == CRITICAL:
                firings.append(Firing(index, CRITICAL, escalation=True))
                open_severity = last_severity = CRITICAL
            continue
        elif last_index is not None and in_cooldown(
            params=params, decision=decision, index=index, last_index=last_index, last_severity=last_severity
        ):
            continue
        firings.append(Firing(index, decision.severity, escalation=False))
        last_index, last_severity = index, decision.severity
        open_severity = None if resolve_at_once else decision.severity
    return firings
