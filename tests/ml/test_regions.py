import numpy as np
import pytest

from ml.regions import top_regions


def two_blobs() -> np.ndarray:
    """A faint map with a small hot blob and a larger, cooler one (threshold units)."""
    heat = np.full((256, 256), 0.3, dtype=np.float32)
    heat[10:20, 30:40] = 1.2  # 10x10, peak 2.5 below
    heat[15, 35] = 2.5
    heat[100:140, 60:80] = 1.5  # 40x20
    return heat


def test_it_boxes_each_blob_at_or_above_threshold_highest_peak_first():
    hot, cool = top_regions(two_blobs())
    assert hot["box"] == {"x": 30, "y": 10, "width": 10, "height": 10}
    assert hot["area"] == 100 and hot["peak"] == pytest.approx(2.5)
    assert cool["box"] == {"x": 60, "y": 100, "width": 20, "height": 40}
    assert cool["area"] == 800 and cool["peak"] == pytest.approx(1.5)


def test_it_gives_boxes_and_areas_as_fractions_of_the_image():
    _hot, cool = top_regions(two_blobs())
    assert cool["box_fraction"] == pytest.approx({"x": 60 / 256, "y": 100 / 256, "width": 20 / 256, "height": 40 / 256})
    assert cool["area_fraction"] == pytest.approx(800 / 256**2, abs=1e-6)


def test_it_finds_no_regions_where_nothing_reaches_the_threshold():
    heat = np.full((256, 256), 0.999, dtype=np.float32)
    heat[0, 0] = np.nan
    assert top_regions(heat) == []


def test_it_counts_a_pixel_exactly_at_threshold_and_keeps_a_diagonal_line_whole():
    heat = np.zeros((256, 256), dtype=np.float32)
    heat[np.arange(50), np.arange(50)] = 1.0
    [line] = top_regions(heat)
    assert line["box"] == {"x": 0, "y": 0, "width": 50, "height": 50} and line["area"] == 50


def test_it_keeps_only_the_highest_peaks_and_prefers_the_larger_region_on_a_tie():
    heat = np.zeros((64, 64), dtype=np.float32)
    for k in range(8):
        heat[k * 8, 0 : k + 1] = 1.0 + (k // 2)  # pairs of equal peaks, the later one longer
    regions = top_regions(heat, limit=3)
    assert [(r["peak"], r["area"]) for r in regions] == [(4.0, 8), (4.0, 7), (3.0, 6)]


def test_it_refuses_a_batch_of_heatmaps():
    with pytest.raises(ValueError):
        top_regions(np.zeros((2, 256, 256)))
