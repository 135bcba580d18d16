import pytest

from ml.alert_score import CHANGE, LAYOUT_MEMORY, POWDER_LOST, SCORE, AlertScore, alert_score_combine
from ml.change.keys import POWDER_LOST_SHARE


def test_the_alert_score_is_the_higher_channel_each_over_its_own_threshold():
    assert alert_score_combine(10.0, score=9.0, memory=2.0, change=9.0, change_threshold=6.0) == AlertScore(
        pytest.approx(15.0), CHANGE
    )
    assert alert_score_combine(10.0, score=9.0, memory=6.0, change=3.0, change_threshold=6.0) == AlertScore(
        6.0, LAYOUT_MEMORY
    )


def test_without_layout_memory_the_layers_own_score_stands_in():
    assert alert_score_combine(10.0, score=7.0) == AlertScore(7.0, SCORE)
    assert alert_score_combine(10.0, score=7.0, change=3.0, change_threshold=2.0) == AlertScore(15.0, CHANGE)


@pytest.mark.parametrize("change, threshold", [(None, 1.0), (float("nan"), 1.0), (0.5, None), (0.5, 0.0)])
def test_a_change_channel_without_a_score_or_a_threshold_does_not_count(change, threshold):
    combined = alert_score_combine(10.0, score=9.0, memory=2.0, change=change, change_threshold=threshold)
    assert combined == AlertScore(2.0, LAYOUT_MEMORY)


def test_the_change_channel_counts_from_where_good_layers_sit_up_to_its_threshold():
    def change(value: float) -> AlertScore:
        return alert_score_combine(10.0, score=9.0, change=value, change_threshold=7.0, change_baseline=5.0)

    assert change(5.0) == AlertScore(9.0, SCORE)  # at the baseline it adds nothing
    assert change(7.0) == AlertScore(pytest.approx(10.0), CHANGE)  # at its threshold: at the layer's
    assert change(8.0) == AlertScore(pytest.approx(15.0), CHANGE)


def test_powder_lost_counts_its_share_of_the_bed_at_the_layers_threshold_as_it_reaches_its_own():
    def lost(share: float | None) -> AlertScore:
        return alert_score_combine(10.0, score=9.0, memory=2.0, change=7.0, change_threshold=7.0, powder_lost=share)

    assert lost(POWDER_LOST_SHARE) == AlertScore(pytest.approx(10.0), CHANGE)  # a tie: the change channel stays
    assert lost(0.14) == AlertScore(pytest.approx(140.0), POWDER_LOST)  # a short feed over 14% of the bed
    assert lost(0.0013) == AlertScore(pytest.approx(10.0), CHANGE)  # the most good layers lost
    assert lost(None) == lost(float("nan")) == AlertScore(pytest.approx(10.0), CHANGE)
    assert alert_score_combine(10.0, score=0.5, powder_lost=0.0) == AlertScore(0.5, SCORE)
