"""The rules as pure functions: no database."""

import pytest

from apps.alerts.rules import CRITICAL, WARNING, Firing, Point, RuleParams, ewm, rules_decide, rules_replay

PARAMS = RuleParams(
    warmup_layers=3,
    window_layers=5,
    k_warning=2,
    k_critical=3,
    ewm_alpha=0.3,
    ewm_warning=1.0,
    ewm_critical=1.5,
    cooldown_layers=10,
)


def points(values: list[float], start: int = 0) -> list[Point]:
    return [Point(start + i, v) for i, v in enumerate(values)]


def test_it_stays_silent_during_the_warm_up():
    assert rules_decide(params=PARAMS, points=points([5.0, 5.0, 5.0])) is None


def test_it_ignores_warm_up_layers_in_the_window():
    decision = rules_decide(params=PARAMS, points=points([5.0, 5.0, 5.0, 0.5, 1.2, 0.5]))
    assert decision is None or decision.layer_indexes == (4,)


def test_it_warns_on_k_warning_of_n_anomalous_layers():
    decision = rules_decide(params=PARAMS, points=points([0.5, 0.5, 0.5, 1.2, 0.5, 1.1, 0.5]))
    assert decision.severity == WARNING and decision.layer_indexes == (3, 5)
    assert decision.reason == "2 of the last 4 layers above threshold"  # 0-2 are warm-up


def test_it_raises_critical_on_k_critical_of_n():
    decision = rules_decide(params=PARAMS, points=points([0.5] * 5 + [1.1, 0.5, 1.3, 1.2]))
    assert decision.severity == CRITICAL and decision.layer_indexes == (5, 7, 8)


def test_it_fires_on_the_weighted_mean_without_k_anomalous_layers():
    params = RuleParams(
        warmup_layers=0, k_warning=9, k_critical=9, window_layers=9, ewm_alpha=0.5, ewm_warning=0.9, ewm_critical=2.0
    )
    decision = rules_decide(params=params, points=points([0.5, 0.95, 0.98, 0.99, 0.99]))
    assert decision.severity == WARNING and "weighted mean" in decision.reason


@pytest.mark.parametrize(("values", "expected"), [([1.0], 1.0), ([0.0, 1.0], 0.5), ([0.0, 1.0, 1.0], 0.75)])
def test_it_computes_the_exponentially_weighted_mean(values, expected):
    assert ewm(values, 0.5) == pytest.approx(expected)


# A recorded job: normalised scores (score / threshold) of 40 layers. A spatter streak starts at
# layer 24 and lasts 5 layers; layer 12 is a lone bright flash; layers 0-2 are a noisy warm-up.
RECORDED = [
    1.8,
    1.4,
    1.1,
    0.62,
    0.58,
    0.66,
    0.71,
    0.60,
    0.55,
    0.64,
    0.69,
    0.61,
    1.35,
    0.63,
    0.59,
    0.67,
    0.70,
    0.58,
    0.62,
    0.66,
    0.61,
    0.65,
    0.72,
    0.68,
    1.45,
    1.92,
    2.6,
    2.2,
    1.7,
    0.81,
    0.66,
    0.61,
    0.59,
    0.64,
    0.62,
    0.60,
    0.67,
    0.63,
    0.58,
    0.61,
]


def test_it_replays_a_recorded_job_alerting_exactly_at_the_defect():
    firings = rules_replay(params=PARAMS, points=points(RECORDED), resolve_at_once=False)
    assert firings == [Firing(25, WARNING, escalation=False), Firing(26, CRITICAL, escalation=True)]


def test_it_holds_back_alerts_of_the_same_severity_during_the_cooldown():
    # Warning bursts at 5-6 and 40-41, and 11-13, which warns at 12 (held: inside the 10-layer
    # cooldown) and turns critical at 13 (fires: a dismissed warning must not hide a defect).
    values = [0.5] * 5 + [1.5] * 2 + [0.5] * 4 + [1.5] * 3 + [0.5] * 26 + [1.5] * 2 + [0.5] * 3
    firings = rules_replay(params=PARAMS, points=points(values), resolve_at_once=True)
    assert [(f.index, f.severity) for f in firings] == [(6, WARNING), (13, CRITICAL), (41, WARNING)]
