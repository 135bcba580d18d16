import time

import numpy as np
import pytest
from scipy import ndimage

from ml.synthetic import DEFECT_KINDS, Variation, generate_job, generate_layers


def test_it_generates_identical_bytes_for_the_same_seed():
    first = generate_job(seed=4, n_layers=5, defects={2: "spatter"})
    again = generate_job(seed=4, n_layers=5, defects={2: "spatter"})
    for a, b in zip(first, again, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert a.mask.tobytes() == b.mask.tobytes()


def test_it_generates_different_layers_for_another_seed():
    a = generate_layers(seed=1, n=1)[0].image
    b = generate_layers(seed=2, n=1)[0].image
    assert np.mean(a != b) > 0.5


def test_it_returns_uint8_images_and_bool_masks_of_the_requested_size():
    layer = generate_layers(seed=0, n=1, size=128, defect_kind="pit")[0]
    assert layer.image.shape == layer.mask.shape == (128, 128)
    assert layer.image.dtype == np.uint8 and layer.mask.dtype == bool
    assert layer.defect == "pit"


def test_it_leaves_good_layers_without_mask():
    for layer in generate_layers(seed=5, n=6):
        assert layer.defect is None and not layer.mask.any()


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_it_marks_every_defect_kind_where_the_pixels_changed(kind):
    clean = generate_layers(seed=9, n=5, group=0)
    dirty = generate_layers(seed=9, n=5, group=0, defect_kind=kind)
    for good, bad in zip(clean, dirty, strict=True):
        assert bad.defect == kind and bad.mask.any()
        # Only the defect differs between the two renderings (same noise, same shift), so the
        # mask must sit on the change and the change must sit in (or right next to) the mask.
        change = np.abs(bad.image.astype(float) - good.image.astype(float))
        assert change[bad.mask].mean() > 3 * max(change[~bad.mask].mean(), 0.1)
        strong = change >= 4
        near_mask = ndimage.binary_dilation(bad.mask, iterations=2)
        assert strong[near_mask].sum() >= 0.9 * strong.sum()


def test_it_puts_short_feed_at_the_far_end_of_the_recoater_travel():
    for layer in generate_layers(seed=2, n=5, defect_kind="short_feed"):
        columns = np.nonzero(layer.mask)[1]
        assert columns.mean() > 0.6 * layer.mask.shape[1]


def test_it_changes_parts_between_groups_but_barely_within_one():
    job = generate_job(seed=3, n_layers=32, group_length=15, variation=Variation(0, 0, 0))
    assert [layer.group for layer in job[::15]] == [0, 1, 2]
    within = np.abs(job[1].image.astype(float) - job[0].image).mean()
    across = np.abs(job[15].image.astype(float) - job[14].image).mean()
    assert across > 1.5 * within


def test_a_part_that_finishes_early_leaves_the_others_and_changes_the_stated_layout():
    plain = generate_job(seed=3, n_layers=30, variation=Variation(0, 0, 0))
    job = generate_job(seed=3, n_layers=30, variation=Variation(0, 0, 0), parts_finish_early=True)
    layouts = [layer.layout for layer in job]
    finish = layouts.index("group 0, its first part finished")
    assert 8 <= finish <= 22 and set(layouts[:finish]) == {"group 0"}
    assert set(layouts[finish:]) == {"group 0, its first part finished"}
    assert all(np.array_equal(a.image, b.image) for a, b in zip(plain[:finish], job[:finish], strict=True))
    gone = plain[finish].image.astype(float) - job[finish].image
    # Only the finished part's pixels changed: a small share of the bed, where it was brighter.
    changed = np.abs(gone) > 3
    assert 0 < changed.mean() < 0.2 and gone[changed].mean() > 0


def test_it_keeps_a_persistent_defect_in_place():
    # Without camera shift the bed and the image coincide, so "same place" means same pixels.
    still = Variation(shift=0)
    job = generate_job(
        seed=6, n_layers=8, defects={2: "scratch"}, defect_persistence=3, variation=still
    )
    assert [layer.defect for layer in job] == [None, None, *["scratch"] * 3, None, None, None]
    assert job[2].mask.any()
    assert np.array_equal(job[3].mask, job[2].mask) and np.array_equal(job[4].mask, job[2].mask)
    assert not job[5].mask.any()


def test_it_drifts_exposure_slowly_across_a_job():
    job = generate_job(seed=8, n_layers=60, group_length=100)
    means = np.array([layer.image.mean() for layer in job])
    assert np.abs(np.diff(means)).mean() < means.std() + 1.0
    flat = generate_job(seed=8, n_layers=60, group_length=100, variation=Variation(exposure=0))
    assert np.ptp([layer.image.mean() for layer in flat]) < np.ptp(means)


def test_it_rejects_unknown_defects_and_onsets_outside_the_job():
    with pytest.raises(ValueError, match="unknown defect kind"):
        generate_layers(seed=0, n=1, defect_kind="crack")
    with pytest.raises(ValueError, match="outside"):
        generate_job(seed=0, n_layers=3, defects={5: "pit"})


def test_it_renders_a_256_layer_in_well_under_20_ms():
    generate_layers(seed=0, n=2)  # warm caches
    # CPU time, not wall time: other jobs on a shared CI box must not fail this test.
    started = time.process_time()
    generate_layers(seed=0, n=20, defect_kind="super_elevation")
    assert (time.process_time() - started) / 20 < 0.02


def test_it_takes_the_machines_look_from_machine_seed_when_given():
    def image(**kw):
        return generate_job(n_layers=1, size=64, **kw)[0].image

    assert (image(seed=2) == image(seed=2, machine_seed=2)).all()
    assert not (image(seed=2) == image(seed=2, machine_seed=9)).all()
    assert not (image(seed=1, machine_seed=9) == image(seed=2, machine_seed=9)).all()


def test_parts_grow_from_layer_to_layer_by_growth_layers_not_by_how_often_they_change():
    def job(growth_layers=None):
        return generate_job(seed=3, n_layers=6, group_length=10, growth_layers=growth_layers)

    by_group, by_30, unchanged = job(), job(30), job(10**9)
    assert all((a.image == b.image).all() for a, b in zip(by_group, job(10), strict=True))  # the default
    assert (by_30[5].image == by_group[5].image).all()  # mid-group both are at their base size

    def grown(layers):  # pixels where the first layer's parts differ from their base size
        return int((layers[0].image != unchanged[0].image).sum())

    assert grown(by_30) > 0
    assert grown(by_30) < 0.5 * grown(by_group)  # a third of the growth over the group's 10 layers
