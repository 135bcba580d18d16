"""The change channel's parts keys: which consecutive layers show the same parts (ml/change/keys.py)."""

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from ml.change.keys import (
    POWDER_LOST_SHARE,
    little_changed,
    much_changed,
    part_finished,
    parts_keys,
    parts_keys_match,
    parts_only_finished,
    parts_signature,
    powder_lost,
    powder_lost_between,
    powder_lost_shares,
    same_parts,
)
from ml.preprocess import preprocess_batch
from ml.synthetic import generate_job
from tests.ml.helpers import ONSET, job_images, short_feed_job


def test_powder_is_lost_on_a_short_feeds_first_layer_and_not_on_the_layers_before_or_after_it():
    images, _ = short_feed_job(seed=24)
    shares = powder_lost_shares(parts_keys(images))
    assert np.isnan(shares[0])
    assert shares[ONSET] >= POWDER_LOST_SHARE
    # Before it the powder covered the bed; after it the bare bed is what the previous layer showed.
    assert max(shares[1:ONSET].max(), shares[ONSET + 1 :].max()) < POWDER_LOST_SHARE


def test_keys_stored_before_they_held_block_means_lose_no_powder():
    key = parts_keys(job_images(seed=1, n_layers=1, machine_seed=1))[0]
    assert powder_lost_between(key, np.split(key, 2)[0]) == 0.0


def test_no_layout_change_of_a_synthetic_job_looks_like_lost_powder():
    layers = generate_job(seed=202, n_layers=211, machine_seed=2)
    images = np.stack([layers[i].image for i in range(29, 211, 30) for i in (i, i + 1)]).astype(np.float32) / 255
    keys = parts_keys(images)
    # Layers 29 and 30, 59 and 60, ...: the last layer of each layout and the first of the next.
    for earlier, later in zip(keys[::2], keys[1::2], strict=True):
        signature, levels = np.split(later, 2)
        previous_signature, previous_levels = np.split(earlier, 2)
        assert not same_parts(signature, previous_signature)
        assert not powder_lost(levels, previous_levels)
        assert not parts_keys_match(later, earlier)


def test_a_darker_exposure_or_a_part_that_ended_is_no_lost_powder():
    rng = np.random.default_rng(0)
    previous = 0.4 + rng.normal(0, 0.003, (28, 28))
    previous[5:12, 5:12] += 0.1  # a part, 56 px across
    darker = previous - 0.05  # the whole bed 13 grey levels darker
    assert not powder_lost(darker.ravel(), previous.ravel())
    ended = previous.copy()
    ended[5:12, 5:12] -= 0.1  # the part is gone: powder as dark as the powder beside it
    assert not powder_lost(ended.ravel(), previous.ravel())
    bare = previous.copy()
    bare[:, 22:] -= 12 / 255  # the far end of the bed, 12 grey levels darker than the powder was
    assert powder_lost(bare.ravel(), previous.ravel())


def test_a_camera_shift_a_pit_or_dark_spatter_on_a_part_is_no_finished_part():
    yy, xx = np.mgrid[0:256, 0:256] / 256
    bed = 0.35 + 0.06 * xx + 0.04 * yy  # uneven lighting
    previous = bed.copy()
    previous[60:130, 60:150] += 0.14  # a part, 70 x 90 px, 36 grey levels over the powder
    previous[170:200, 170:210] += 0.1  # and a smaller one
    shifted = ndimage.shift(previous, (3, -3), order=1, mode="nearest")
    pit = previous.copy()
    pit[90:100, 90:100] -= 0.15  # a pit in the part
    spatter = previous.copy()
    spatter[70:100, 70:100] -= 0.1  # dark spatter 30 px across on it, the rest of the part as it was
    finished = previous.copy()
    finished[170:200, 170:210] = bed[170:200, 170:210]  # the smaller part is done
    keys = parts_keys(np.stack([previous, shifted, pit, spatter, finished]).astype(np.float32))
    previous_levels = np.split(keys[0], 2)[1]
    seen = [part_finished(np.split(key, 2)[1], previous_levels) for key in keys[1:]]
    assert seen == [False, False, False, True]


def test_one_faint_small_part_giving_way_to_another_is_a_new_layout():
    # Printer A's look in make demo (512 px photos): a ring 5-12 grey levels over the powder gives
    # way to a small block on layer 30; only 1.4% of the blocks changed by 10 grey levels.
    layers = generate_job(seed=44811013, n_layers=31, machine_seed=44811, size=512)
    assert layers[30].layout != layers[29].layout
    keys = parts_keys(preprocess_batch([layers[29].image, layers[30].image]))
    levels, previous_levels = np.split(keys[1], 2)[1], np.split(keys[0], 2)[1]
    assert little_changed(levels, previous_levels)  # too little of the bed changed to tell by that
    assert part_finished(levels, previous_levels)
    assert not parts_keys_match(keys[1], keys[0])


def test_a_camera_shift_that_moves_one_small_faint_parts_edge_is_no_finished_part():
    # Printer B's look in make demo: the camera moved a few pixels on layer 64, and the edge of the
    # layout's one small part darkened on 7 blocks by 5-8 grey levels, while the blocks beside it brightened.
    layers = generate_job(seed=20561003, n_layers=65, machine_seed=20561, size=512)
    assert layers[64].layout == layers[63].layout
    keys = parts_keys(preprocess_batch([layers[63].image, layers[64].image]))
    assert not part_finished(np.split(keys[1], 2)[1], np.split(keys[0], 2)[1])
    assert parts_keys_match(keys[1], keys[0])


def test_a_faint_part_giving_way_to_another_faint_one_is_no_part_that_only_finished():
    # Layers 89 and 90 of printer A's job in a make demo run, as scored (256 px): a faint ring gave
    # way to a faint part that brightened fewer than 4 blocks by 10 grey levels. Layout memory went
    # on across the new layout, and the new part's hot spots raised a false critical on layers 90-93.
    frames = Path(__file__).parent / "frames"
    images = [np.asarray(Image.open(frames / f"demo_printer_a_layer_{i}.png"), np.float32) / 255 for i in (89, 90)]
    keys = parts_keys(np.stack(images))
    assert part_finished(np.split(keys[1], 2)[1], np.split(keys[0], 2)[1])
    assert not parts_keys_match(keys[1], keys[0])
    assert not parts_only_finished(keys[1], keys[0])


def test_a_faint_part_is_seen_to_finish_on_a_quiet_bed_but_not_where_the_grain_is_as_strong():
    rng = np.random.default_rng(5)
    bed = np.full((256, 256), 0.4)
    part = np.zeros_like(bed)
    part[100:140, 100:140] = 6 / 255  # 6 grey levels over the powder
    for grain, sigma in {"quiet": 1 / 255, "grainy": 12 / 255}.items():
        noise = [ndimage.gaussian_filter(rng.normal(0, sigma * 4, bed.shape), 2) for _ in range(3)]
        keys = parts_keys(np.stack([bed + part + noise[0], bed + part + noise[1], bed + noise[2]]).astype(np.float32))
        previous_levels = np.split(keys[0], 2)[1]
        assert not part_finished(np.split(keys[1], 2)[1], previous_levels), grain
        assert part_finished(np.split(keys[2], 2)[1], previous_levels) == (grain == "quiet"), grain


def test_dark_spatter_over_a_faint_part_is_no_finished_part():
    rng = np.random.default_rng(6)
    bed = np.full((256, 256), 0.4)
    part = np.zeros_like(bed)
    part[104:144, 104:144] = 8 / 255
    spatter = part.copy()
    spatter[104:144, 104:144] = -12 / 255  # darker than the powder: a part that finished leaves powder
    noise = [ndimage.gaussian_filter(rng.normal(0, 4 / 255, bed.shape), 2) for _ in range(2)]
    keys = parts_keys(np.stack([bed + part + noise[0], bed + spatter + noise[1]]).astype(np.float32))
    assert not part_finished(np.split(keys[1], 2)[1], np.split(keys[0], 2)[1])


def test_a_cluster_of_spatter_that_moves_the_parts_signature_is_no_new_layout():
    onset = 114  # machine 7's layout there has few parts, and the spatter moves their signature
    layers = generate_job(seed=206, n_layers=onset + 1, machine_seed=7, defects={onset: "spatter"})
    keys = parts_keys(np.stack([layer.image for layer in layers[onset - 1 :]]).astype(np.float32) / 255)
    signature, levels = np.split(keys[1], 2)
    previous_signature, previous_levels = np.split(keys[0], 2)
    assert not same_parts(signature, previous_signature)
    assert little_changed(levels, previous_levels)
    assert parts_keys_match(keys[1], keys[0])


def test_new_parts_change_too_much_of_the_bed_to_be_little_changed():
    layers = generate_job(seed=202, n_layers=91, machine_seed=7)
    images = np.stack([layers[i].image for i in (29, 30, 59, 60, 89, 90)]).astype(np.float32) / 255
    keys = parts_keys(images)
    for earlier, later in zip(keys[::2], keys[1::2], strict=True):
        assert not little_changed(np.split(later, 2)[1], np.split(earlier, 2)[1])
        assert not parts_keys_match(later, earlier)


def test_new_parts_whose_signature_still_correlates_are_a_new_layout_as_much_of_the_bed_changed():
    layers = generate_job(seed=255, n_layers=31, machine_seed=1)  # its parts change on layer 30
    keys = parts_keys(np.stack([layers[29].image, layers[30].image]).astype(np.float32) / 255)
    signature, levels = np.split(keys[1], 2)
    previous_signature, previous_levels = np.split(keys[0], 2)
    assert same_parts(signature, previous_signature)  # the new parts lie where the old ones did
    assert much_changed(levels, previous_levels)
    assert not parts_keys_match(keys[1], keys[0])


def test_a_layout_key_stored_before_keys_held_block_means_matches_no_key():
    images = job_images(seed=8, n_layers=2, machine_seed=3, group_length=40)
    keys = parts_keys(images)
    assert parts_keys_match(keys[1], keys[0])
    assert not parts_keys_match(keys[1], parts_signature(images)[0])


def test_parts_signatures_tell_a_new_layout_from_the_same_one_under_other_grain_and_lighting():
    images = job_images(seed=8, n_layers=7, machine_seed=3, group_length=6)
    signatures = parts_signature(images)
    assert same_parts(signatures[4], signatures[5])
    assert not same_parts(signatures[5], signatures[6])
