import pytest

from apps.layers.models import LabelValue, Layer
from apps.scoring.false_positives import false_positive_rates
from tests.alerts.conftest import scored_job

pytestmark = pytest.mark.django_db


def labeled_job(machine, flags: list[bool], label: str):
    layers = scored_job(machine, [3.0 if flag else 0.5 for flag in flags])
    Layer.objects.filter(pk__in=[lr.pk for lr in layers]).update(label=label)
    return layers


def test_it_reports_the_realised_rate_from_labels_and_from_unconfirmed_layers(printer):
    labeled_job(printer.machine, [True] + [False] * 9, LabelValue.GOOD)
    version = Layer.objects.filter(machine=printer.machine).first().current_score.model_version
    rates = false_positive_rates(version=version)
    assert (rates.labeled_good.flagged, rates.labeled_good.judged) == (1, 10)
    assert rates.unconfirmed.judged == 0
    assert not rates.disagrees  # 1 in 10 is believable at a 1% promise


def test_it_says_when_the_delivered_rate_breaks_the_promise(printer, operator_client):
    labeled_job(printer.machine, [True] * 6 + [False] * 14, "")
    response = operator_client.get(f"/machines/{printer.machine.slug}/models/")
    assert response.status_code == 200
    assert b'data-testid="fpr-disagrees"' in response.content
    assert b"6 of 20 flagged" in response.content


def test_it_shows_no_warning_while_the_promise_holds(printer, operator_client):
    labeled_job(printer.machine, [False] * 20, LabelValue.GOOD)
    response = operator_client.get(f"/machines/{printer.machine.slug}/models/")
    assert b'data-testid="false-positive-rates"' in response.content
    assert b'data-testid="fpr-disagrees"' not in response.content
