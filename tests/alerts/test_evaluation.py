import threading

import pytest
from django.db import connection

from apps.alerts.models import Alert, AlertRule
from apps.alerts.services import alert_rules_evaluate
from tests.alerts.conftest import scored_job
from tests.alerts.test_rules import RECORDED

pytestmark = pytest.mark.django_db

QUIET = [0.6] * 12


@pytest.fixture
def rule(printer):
    return AlertRule.objects.create(machine=printer.machine, warmup_layers=3, cooldown_layers=10)


def evaluate_each(layers):
    return [alert_rules_evaluate(layer_id=layer.pk) for layer in layers]


def feed(machine, values, *, start=0, job_id="J1"):
    """Scores layers one at a time and evaluates each, as the task does. Returns what alerted."""
    alerted = []
    for offset, value in enumerate(values):
        (layer,) = scored_job(machine, [value], job_id=job_id, start=start + offset)
        alert = alert_rules_evaluate(layer_id=layer.pk)
        if alert is not None:
            alerted.append((layer.index, alert.severity))
    return alerted


def test_it_opens_one_critical_alert_with_its_layers_and_reason(printer, rule):
    layers = scored_job(printer.machine, QUIET + [1.6, 1.8, 2.0])
    alert = alert_rules_evaluate(layer_id=layers[-1].pk)
    assert (alert.severity, alert.status, alert.job.job_id) == ("critical", "open", "J1")
    assert sorted(alert.layers.values_list("index", flat=True)) == [12, 13, 14]
    assert alert.reason == "3 of the last 5 layers above threshold"


def test_it_replays_a_recorded_job_through_the_database(printer, rule):
    rule.ewm_alpha = 0.3
    rule.ewm_critical = 1.5
    rule.save()
    alerted = feed(printer.machine, RECORDED)
    # Opened as a warning at 25 and escalated at 26; the open alert then absorbs every layer whose
    # window still fires (until 31, when the defect's last layers leave the 5-layer window).
    assert alerted == [(25, "warning")] + [(i, "critical") for i in range(26, 32)]
    alert = Alert.objects.get()
    assert sorted(alert.layers.values_list("index", flat=True)) == [24, 25, 26, 27, 28]
    assert alert.last_layer_index == 31


def test_it_opens_no_second_alert_while_one_is_open(printer, rule):
    layers = scored_job(printer.machine, QUIET + [1.6] * 30)
    evaluate_each(layers)
    assert Alert.objects.count() == 1


def test_it_waits_out_the_cooldown_after_a_resolved_alert(printer, rule):
    feed(printer.machine, QUIET + [1.6] * 3)
    Alert.objects.update(status=Alert.Status.RESOLVED)
    alerted = feed(printer.machine, [1.6] * 12, start=15)
    # The first alert's last layer was 14 and the cooldown is 10 layers; then the new one stays open.
    assert alerted == [(24, "critical"), (25, "critical"), (26, "critical")]
    assert Alert.objects.count() == 2


def test_it_lets_a_critical_through_the_cooldown_of_a_dismissed_warning(printer, rule):
    feed(printer.machine, QUIET + [1.2, 1.2])
    Alert.objects.update(status=Alert.Status.RESOLVED)
    # 15 is inside the warning's cooldown (13 + 10) but its window holds 12, 13 and 15: critical.
    assert feed(printer.machine, [0.6, 1.2, 2.0], start=14) == [(15, "critical"), (16, "critical")]
    assert Alert.objects.filter(status="open").get().severity == "critical"


def test_it_follows_the_fleet_default_rule_when_the_machine_has_none(printer):
    AlertRule.objects.create(machine=None, is_active=False)
    layers = scored_job(printer.machine, QUIET + [3.0] * 5)
    assert evaluate_each(layers) == [None] * len(layers)


def test_it_keeps_other_jobs_alerting_independently(printer, rule):
    a = scored_job(printer.machine, QUIET + [2.0] * 3, job_id="A")
    b = scored_job(printer.machine, QUIET + [2.0] * 3, job_id="B")
    evaluate_each(a + b)
    assert sorted(Alert.objects.values_list("job__job_id", flat=True)) == ["A", "B"]


def evaluate_at_once(layer_ids: list[int]) -> list[Exception]:
    """Evaluates the layers in threads (each with its own connection) released together."""
    barrier = threading.Barrier(len(layer_ids))
    errors: list[Exception] = []

    def evaluate(layer_id):
        try:
            barrier.wait()
            alert_rules_evaluate(layer_id=layer_id)
        except Exception as error:  # surfaced by the caller: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate, args=(pk,)) for pk in layer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_it_opens_exactly_one_alert_when_two_workers_evaluate_adjacent_layers(printer, rule):
    for round_ in range(5):
        layers = scored_job(printer.machine, QUIET + [2.0] * 5, job_id=f"race-{round_}")
        assert evaluate_at_once([lr.pk for lr in layers[-2:]]) == []
        assert Alert.objects.filter(job__job_id=f"race-{round_}").count() == 1


def test_it_opens_a_second_alert_for_a_new_onset_while_the_first_is_still_open(printer, rule):
    # A defect at 12-14, a quiet stretch longer than the rule's window, then another defect.
    feed(printer.machine, QUIET + [1.6] * 3 + [0.6] * 8 + [1.6] * 3)
    first, second = Alert.objects.order_by("last_layer_index")
    assert first.status == second.status == "open"
    assert sorted(first.layers.values_list("index", flat=True)) == [12, 13, 14]
    # Opened as a warning on the onset's first layer, escalated to critical as it went on.
    assert sorted(second.layers.values_list("index", flat=True)) == [23, 24, 25]
    assert second.severity == "critical"


def test_it_alerts_a_new_onset_after_a_false_alarm_inside_the_cooldown(printer, rule, operator):
    from apps.alerts.services import alert_resolve

    feed(printer.machine, QUIET + [1.6] * 3)
    alert_resolve(alert=Alert.objects.get(), user=operator, outcome=Alert.Outcome.FALSE_ALARM)
    # 21 is inside the cooldown (14 + 10), but a quiet stretch came between: a defect of its own.
    alerted = feed(printer.machine, [0.6] * 6 + [1.6] * 3, start=15)
    assert alerted[0] == (21, "warning") and alerted[-1] == (23, "critical")
    assert Alert.objects.filter(status="open").get().severity == "critical"


def test_it_keeps_a_continuing_stretch_in_its_open_alert(printer, rule):
    feed(printer.machine, QUIET + [1.6] * 3 + [0.6, 1.6, 0.6, 1.6, 1.6])
    assert Alert.objects.count() == 1


def test_it_alerts_a_defect_in_a_backlog_scored_at_once_as_it_would_one_by_one(printer, rule):
    # A busy worker scores the whole stretch before the rules see its first layer: each layer's
    # evaluation must judge the window ending at that layer, not at the job's newest.
    values = QUIET + [1.6, 1.8, 2.0, 1.7] + QUIET
    one_by_one = feed(printer.machine, values, job_id="live")
    layers = scored_job(printer.machine, values, job_id="backlog")
    backlog = [(lr.index, a.severity) for lr, a in zip(layers, evaluate_each(layers), strict=True) if a]
    assert one_by_one and backlog == one_by_one
    alerts = {a.job.job_id: sorted(a.layers.values_list("index", flat=True)) for a in Alert.objects.all()}
    assert alerts["backlog"] == alerts["live"]
