import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from ml.change import scoring as change_scoring
from ml.change.calibration import MIN_CHANGE_SCORES, change_calibrate
from ml.change.keys import (
    part_finished,
    parts_keys,
    parts_keys_match,
    parts_signature,
    same_parts,
)
from ml.change.margins import top_bottom_margins
from ml.change.scoring import (
    DEPTH,
    MIN_REFERENCES,
    _match_smoothed,
    _photometric_fit,
    _rescaled,
    change_chain,
    change_flagged,
    change_frame,
    change_score,
    change_scores,
)
from ml.preprocess import preprocess_batch
from ml.synthetic import generate_job
from tests.ml.helpers import ONSET, job_images, short_feed_job

pytestmark = pytest.mark.long(8)


@pytest.fixture(scope="module")
def streak_job() -> np.ndarray:
    """One layout; a faint recoater streak (8.7 grey levels, about the powder grain's) appears on layer 10 and stays."""
    return job_images(
        seed=19, n_layers=14, machine_seed=3, group_length=40, defects={ONSET: "streak"}, defect_persistence=10
    )


@pytest.fixture(scope="module")
def streak_scores(streak_job) -> np.ndarray:
    return change_scores(streak_job)


def test_it_finds_a_defect_that_appears_and_stays_but_not_grain_exposure_or_camera_shift(streak_scores):
    before = streak_scores[MIN_REFERENCES:ONSET]
    assert not np.isnan(before).any()
    assert streak_scores[ONSET:].min() > 1.5 * before.max()


def test_it_sees_a_persistent_defect_more_clearly_with_every_layer_it_lasts(streak_scores):
    assert np.all(np.diff(streak_scores[ONSET:]) > 0)


def test_a_faint_scratch_half_a_pixel_wide_stands_out_by_its_third_layer():
    """Machine 3's powder grain is 4.6 grey levels; this groove is 11.9 deep and 0.5 px wide, and
    7.5 degrees off the nearest long line of a pixel's width. Only the thin lines see it."""
    images = job_images(
        seed=200, n_layers=ONSET + 4, machine_seed=3, group_length=40, defects={ONSET: "scratch"}, defect_persistence=10
    )
    scores = change_scores(images)
    assert scores[ONSET + 2 :].min() > 1.5 * scores[MIN_REFERENCES:ONSET].max()


def test_a_straight_part_edge_that_is_sharper_on_some_layers_than_others_is_no_scratch():
    """Machine 1's rectangular parts: a camera shift by a fraction of a pixel blurs a layer's edges
    a little, so along a straight edge the recent layers and the references differ by a thin line."""
    scores = change_scores(job_images(seed=201, n_layers=14, machine_seed=1, group_length=40))[MIN_REFERENCES:]
    assert scores.max() < 1.5 * np.median(scores)


def test_a_streak_a_few_pixels_from_the_top_of_the_photo_stands_out():
    """Machine 2's powder runs to the photo's second row; this streak lies on rows 4-7."""
    images = job_images(
        seed=340, n_layers=ONSET + 4, machine_seed=2, group_length=40, defects={ONSET: "streak"}, defect_persistence=10
    )
    scores = change_scores(images)
    assert scores[ONSET:].min() > 1.5 * scores[MIN_REFERENCES:ONSET].max()


def test_the_edge_of_the_rails_at_the_top_of_the_photo_is_no_change():
    """Machine 1's bed starts on row 4, below a dark rail; on layer 58 its edge is a little
    sharper than on the layers before (a fraction of a pixel's camera shift)."""
    images = job_images(seed=201, n_layers=59, machine_seed=1)
    frames, keys = [change_frame(image) for image in images], parts_keys(images)

    def score(t):
        earlier = [(i, keys[i], frames[i]) for i in range(t - DEPTH, t)]
        return change_score(frames[t], change_chain(t, keys[t], earlier)).score

    assert score(58) < 1.25 * max(score(t) for t in range(52, 58))


def test_the_photos_edge_a_few_pixels_inside_the_rows_compared_is_no_change_where_the_camera_shakes():
    """Printer B's look in make demo: the camera shakes by up to 4.6 px between layers, and on layer
    44 of this job the first row compared lies 3 px from the photo's top edge."""
    layers = generate_job(seed=201, n_layers=45, machine_seed=20561, parts_finish_early=True)
    scores = change_scores(np.stack([layer.image for layer in layers[30:]]).astype(np.float32) / 255)
    assert scores[-1] < 1.5 * np.nanmedian(scores)


def test_only_the_rows_a_reference_was_shifted_across_are_left_out_at_the_top_and_bottom():
    assert top_bottom_margins([(0.3, 5.0), (-0.2, -6.0)]) == (4, 4)  # a few px at least; sideways shifts do not count
    assert top_bottom_margins([(3.2, 0.0), (-1.5, 0.0)]) == (6, 4)  # shifted down: padding at the top
    assert top_bottom_margins([(-20.0, 0.0)]) == (4, 10)  # never more than at the sides


@pytest.fixture
def nothing_returns(monkeypatch):
    """The change channel without _returned_to_surroundings, which also keeps the clean powder after
    a small defect from looking changed: the tests of the flags check that they do it alone."""
    monkeypatch.setattr(change_scoring, "_RETURN_KEPT", -1.0)


def test_layers_over_the_threshold_are_not_references_so_the_clean_powder_after_a_defect_is_no_change(
    nothing_returns,
):
    lasts = 8
    images = job_images(
        seed=19, n_layers=ONSET + lasts + 6, machine_seed=3, group_length=40, defects={ONSET: "streak"},
        defect_persistence=lasts,
    )
    unflagged = change_scores(images)
    threshold = (unflagged[MIN_REFERENCES:ONSET].max() + unflagged[ONSET : ONSET + 4].min()) / 2
    scores = change_scores(images, threshold)
    during, after = scores[ONSET : ONSET + lasts], scores[ONSET + lasts :]
    assert during[:4].min() > threshold
    # Once every layer within reach before it shows the streak, there is no clean reference left.
    assert np.all(np.isnan(during[4:]) | (during[4:] > threshold))
    # Compared with references that show the streak, the clean powder after it looked changed.
    assert np.nanmax(unflagged[ONSET + lasts :]) > threshold
    assert np.nanmax(after) < threshold and not np.isnan(after[-1])


LAYOUT_CHANGE = 14  # the parts change on layer 14; the streak lasts from ONSET to layer 15


@pytest.fixture(scope="module")
def streak_across_a_layout_change() -> np.ndarray:
    return job_images(
        seed=19, n_layers=LAYOUT_CHANGE + 8, machine_seed=3, group_length=LAYOUT_CHANGE, defects={ONSET: "streak"},
        defect_persistence=LAYOUT_CHANGE + 2 - ONSET,
    )


def test_a_new_layouts_first_layers_after_a_defect_are_no_references_so_the_clean_powder_after_it_is_no_change(
    streak_across_a_layout_change, nothing_returns
):
    images, layout_change = streak_across_a_layout_change, LAYOUT_CHANGE
    unflagged = change_scores(images)
    threshold = (unflagged[MIN_REFERENCES:ONSET].max() + unflagged[ONSET : ONSET + 3].min()) / 2
    # Compared with the new layout's first layers, which show the streak, the clean powder after it looked changed.
    assert np.nanmax(unflagged[layout_change + MIN_REFERENCES :]) > threshold
    scores = change_scores(images, threshold)
    assert scores[ONSET:layout_change].min() > threshold
    assert np.isnan(scores[layout_change : layout_change + 2 * MIN_REFERENCES]).all()
    after = scores[layout_change + 2 * MIN_REFERENCES :]
    assert not np.isnan(after).any() and after.max() < threshold


def test_where_a_defect_that_ended_was_a_reference_the_clean_powder_after_it_is_no_change(
    streak_across_a_layout_change,
):
    # No threshold: every layer is a reference, as a defect's layers are where they score under it.
    images, layout_change = streak_across_a_layout_change, LAYOUT_CHANGE
    scores = change_scores(images)
    threshold = (scores[MIN_REFERENCES:ONSET].max() + scores[ONSET : ONSET + 3].min()) / 2
    assert np.nanmax(scores[layout_change + MIN_REFERENCES :]) < threshold


def test_a_part_that_finished_leaves_no_change_where_it_was_though_the_layers_compared_showed_it():
    finish = 41  # seed 201's first part on machine 2 is done here: a disc 20 px across
    layers = generate_job(seed=201, n_layers=finish + 6, machine_seed=2, parts_finish_early=True)[finish - 11 :]
    images = np.stack([layer.image for layer in layers]).astype(np.float32) / 255
    # One stated layout throughout: the comparison goes on across the finish, as it does where a
    # part too small or faint for part_finished finishes.
    scores = change_scores(images, stated_layouts=["group 1"] * len(images))
    # Compared with layers that showed the part, the bare powder where it was scored 25-47 here.
    assert np.nanmax(scores[11:]) < 1.2 * np.nanmax(scores[:11])


def test_a_layer_without_a_score_is_flagged_as_the_nearest_scored_layer_within_reach_before_it():
    threshold = 10.0
    scores = {3: 4.0, 4: 12.0, 5: None, 6: float("nan"), 7: None, 8: 5.0}
    flags = [change_flagged(i, scores, threshold) for i in range(2, 9)]
    # 2: nothing before it; 5 and 6 take layer 4's flag; 7 is more than MIN_REFERENCES layers past it.
    assert flags == [False, False, True, True, True, False, False]


def test_it_dates_the_change_by_the_lag_that_scored_highest(streak_job):
    frames = [change_frame(image) for image in streak_job]
    keys = parts_keys(streak_job)
    t = ONSET + 2
    earlier = [(i, keys[i], frames[i]) for i in range(t - DEPTH, t)]
    result = change_score(frames[t], change_chain(t, keys[t], earlier))
    assert result.lag == 3  # the last 3 layers (10, 11 and 12) show it
    peak = np.unravel_index(np.argmax(result.map), result.map.shape)
    assert result.map[peak] == pytest.approx(result.map.max())


def test_it_starts_over_where_the_parts_change():
    scores = change_scores(job_images(seed=8, n_layers=12, machine_seed=3, group_length=6))
    # A layout's first MIN_REFERENCES layers have too few of its layers before them; the rest are scored.
    blind = [first + i for first in (0, 6) for i in range(MIN_REFERENCES)]
    assert np.isnan(scores[blind]).all()
    assert not np.isnan(np.delete(scores, blind)).any()


def test_a_short_feed_over_a_third_of_the_bed_stands_out_though_it_moves_the_layers_own_percentiles():
    images, covered = short_feed_job(seed=23)
    assert covered > 0.3
    low, high = (np.percentile(images[i], 25) for i in (ONSET - 1, ONSET))
    assert high < low - 0.02  # 6 grey levels; change_frame standardises each layer by percentiles like these
    scores = change_scores(images)
    before = scores[MIN_REFERENCES:ONSET]
    assert scores[ONSET] > 1.5 * before.max()
    assert scores[ONSET + 1 :].min() > 3 * before.max()


def test_a_short_feed_that_changes_the_parts_signature_is_no_new_layout():
    images, _ = short_feed_job(seed=24)
    signatures, keys = parts_signature(images), parts_keys(images)
    # To the parts signature alone the bare bed looks like new parts ...
    assert not same_parts(signatures[ONSET], signatures[ONSET - 1])
    # ... but the powder it lost keeps the layout, so the channel compares it with the layers before.
    assert parts_keys_match(keys[ONSET], keys[ONSET - 1])
    scores = change_scores(images)
    assert scores[ONSET:].min() > 3 * scores[MIN_REFERENCES:ONSET].max()
    stated = change_scores(images, stated_layouts=["build layers 1-200"] * len(images))
    assert stated[ONSET:].min() > 3 * stated[MIN_REFERENCES:ONSET].max()


def test_a_part_that_finishes_while_the_others_go_on_starts_the_comparison_over():
    layers = generate_job(seed=201, n_layers=31, machine_seed=1, parts_finish_early=True)
    finish = 22
    assert layers[finish].layout != layers[finish - 1].layout  # the first of the layout's parts is done
    images = np.stack([layer.image for layer in layers[12:]]).astype(np.float32) / 255
    keys = parts_keys(images)
    at = finish - 12
    signature, levels = np.split(keys[at], 2)
    previous_signature, previous_levels = np.split(keys[at - 1], 2)
    assert same_parts(signature, previous_signature)  # the other parts keep the signature matching
    assert part_finished(levels, previous_levels)
    scores = change_scores(images)
    assert np.isnan(scores[at : at + MIN_REFERENCES]).all()
    # Compared with layers that showed the part, the powder where it was scored 64-113 here.
    assert np.nanmax(scores[at:]) < 1.2 * np.nanmax(scores[:at])


def test_a_layout_the_printer_states_as_new_starts_the_comparison_over_where_the_images_look_alike():
    images = job_images(seed=8, n_layers=10, machine_seed=3, group_length=40)
    layouts = ["parts 1, 2"] * 5 + ["parts 1, 2, 3"] * 5
    scores = change_scores(images, stated_layouts=layouts)
    blind = [first + i for first in (0, 5) for i in range(MIN_REFERENCES)]
    assert np.isnan(scores[blind]).all()
    assert not np.isnan(np.delete(scores, blind)).any()


def test_a_layer_without_a_stated_layout_is_judged_by_its_parts_signature():
    images = job_images(seed=8, n_layers=12, machine_seed=3, group_length=6)
    # The printer stated the layout of the first layers only: the layout change at 6 is still seen.
    scores = change_scores(images, stated_layouts=["one"] * 4)
    assert np.isnan(scores[[6, 7]]).all() and not np.isnan(scores[[5, 8]]).any()


def test_the_photometric_match_recovers_gain_and_offset_with_much_of_the_bed_changed():
    rng = np.random.default_rng(0)
    target = ndimage.gaussian_filter(rng.normal(0, 1, (128, 128)), 6).astype(np.float32) * 20
    image = 1.3 * target - 0.4 + rng.normal(0, 0.1, target.shape).astype(np.float32)
    image[:, 80:] -= 5.0  # a change over 37% of the image
    inner = np.ones(target.shape, dtype=bool)
    gain, offset = _photometric_fit(_match_smoothed(image), _match_smoothed(target), inner)
    assert (gain, offset) == pytest.approx((1.3, -0.4), abs=0.02)
    matched = _rescaled(image, gain, offset)
    assert np.abs(matched[:, :80] - target[:, :80]).mean() < 0.1
    assert (matched[:, 80:] - target[:, 80:]).mean() == pytest.approx(-5.0 / 1.3, rel=0.05)


def test_the_chain_stops_at_a_missing_layer():
    key = np.concatenate([np.ones(4) / 2, np.full(4, 0.4)]).astype(np.float32)  # a signature, then 2x2 blocks
    frame = np.zeros((2, 2), dtype=np.float32)
    earlier = [(9, key, frame + 9), (8, key, frame + 8), (6, key, frame + 6)]
    assert [f[0, 0] for f in change_chain(10, key, earlier)] == [9, 8]


def test_it_has_no_score_without_enough_previous_layers_of_the_layout(streak_job):
    frames = [change_frame(image) for image in streak_job[:MIN_REFERENCES]]
    assert change_score(frames[-1], frames[-2::-1]) is None


def test_the_calibration_needs_enough_held_out_scores():
    assert change_calibrate(np.full(MIN_CHANGE_SCORES - 1, 5.0)) is None


def test_the_calibration_puts_the_threshold_beyond_the_good_layers_and_the_baseline_among_them():
    scores = np.concatenate([5 + np.random.default_rng(0).gumbel(0, 0.4, 200), [np.nan] * 5])
    calibration = change_calibrate(scores)
    assert np.nanmax(scores) < calibration.threshold < 10
    assert calibration.baseline == pytest.approx(np.nanmedian(scores))
    assert calibration.n_scores == 200


def test_the_threshold_is_never_below_what_three_good_layers_reached_but_two_outliers_do_not_move_it():
    scores = 5 + np.random.default_rng(0).gumbel(0, 0.4, 200)
    heavy = np.concatenate([scores, [9.0, 9.5, 9.8]])  # a tail heavier than Gumbel's
    assert change_calibrate(heavy).threshold == pytest.approx(9.0)
    with_defects = np.concatenate([scores, [30.0, 40.0]])
    assert change_calibrate(with_defects).threshold < 30


def test_on_real_frames_a_painted_streak_stands_out_beyond_anything_the_good_frames_showed():
    from ml.synthetic.on_frames import paint_on_frame
    from tests.ml.helpers import PBLM

    paths = sorted((PBLM / "good").glob("No_Defect_*.jpg"))  # consecutive layers of one build
    frames = preprocess_batch(np.asarray(Image.open(path).convert("L")) for path in paths)
    good = change_scores(frames)
    streaked = frames.copy()
    for i in range(8, len(frames)):  # the same streak, from frame 8 on
        streaked[i] = paint_on_frame(frames[i], "streak", np.random.default_rng(1))[0]
    scores = change_scores(streaked)
    assert np.all(np.diff(scores[8:11]) > 0)
    assert scores[9:].min() > 1.5 * np.nanmax(good)
