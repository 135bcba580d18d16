"""Per-part summaries of a job, read from stored regions and part labels."""

import pytest

from apps.alerts.models import Alert
from apps.parts.selectors import PartSummary, job_part_summaries, layer_part_regions, part_verdict_rule
from apps.parts.services import part_verdict_rule_update
from tests.parts.conftest import region, two_parts

pytestmark = pytest.mark.django_db

# Frame boxes (the frame is twice the 128 px photo): on part 1, on part 2, on powder far from both,
# and on powder 6 image px (12 frame px) right of part 1.
ON_PART_1 = region(40, 60, 10, 10)
ON_PART_2 = region(180, 60, 10, 10, peak=3.5)
FAR_POWDER = region(120, 200, 6, 6)
NEXT_TO_PART_1 = region(110, 60, 4, 4)


def summary(summaries: list[PartSummary], part_id: int) -> PartSummary:
    return next(s for s in summaries if s.part_id == part_id)


def test_it_attributes_each_region_to_its_part_the_powder_or_as_part_damage(add_layer, settings):
    settings.LAYERWATCH_PART_DAMAGE_DISTANCE_PX = 8
    layer = add_layer(0, labels=two_parts(), regions=[ON_PART_1, ON_PART_2, FAR_POWDER, NEXT_TO_PART_1])
    got = [(r["part_id"], r["part_damage"]) for r in layer_part_regions(layer=layer)]
    assert got == [(1, False), (2, False), (0, False), (1, True)]
    assert layer_part_regions(layer=layer)[0]["box"] == ON_PART_1["box"]


def test_it_reads_the_damage_distance_setting_when_asked(add_layer, settings):
    layer = add_layer(0, labels=two_parts(), regions=[NEXT_TO_PART_1])
    settings.LAYERWATCH_PART_DAMAGE_DISTANCE_PX = 4
    assert layer_part_regions(layer=layer)[0]["part_id"] == 0


def test_it_puts_every_region_on_powder_for_a_layer_without_part_labels(add_layer):
    layer = add_layer(0, regions=[ON_PART_1])
    assert layer_part_regions(layer=layer)[0]["part_id"] == 0


def test_it_summarises_each_part_over_the_job(add_layer):
    add_layer(0, labels=two_parts(), regions=[])
    for index in (1, 2, 3, 6):
        add_layer(index, labels=two_parts(), regions=[ON_PART_2])
    add_layer(4, labels=two_parts(), regions=[ON_PART_1], anomalous=False)  # a region, but not anomalous
    add_layer(5, labels=two_parts(), regions=[NEXT_TO_PART_1])
    summaries = job_part_summaries(job=add_layer(7, labels=two_parts()).job)
    first, second = summary(summaries, 1), summary(summaries, 2)
    assert [s.part_id for s in summaries] == [1, 2]
    assert first.layers == (0, 7) and first.bbox == (10, 20, 50, 60) and first.estimated is False
    assert first.anomalous_layers == [5] and first.verdict == "review" and first.name == "Part 1"
    assert second.anomalous_layers == [1, 2, 3, 6] and second.anomalous_ranges == [(1, 3), (6, 6)]
    assert second.worst_score == 3.5 and second.largest_region_px == 12  # 50 frame px = 12.5 image px
    assert second.verdict == "fail" and second.defect_kinds == []


def test_it_passes_a_part_without_anomalous_layers_and_uses_the_jobs_part_names(add_layer):
    job = add_layer(0, labels=two_parts(), regions=[FAR_POWDER]).job
    job.part_names = {"1": "bracket"}
    first, second = job_part_summaries(job=job)
    assert (first.name, first.verdict, first.anomalous_layers) == ("bracket", "pass", [])
    assert (second.name, second.verdict, second.worst_score) == ("Part 2", "pass", None)


def test_it_follows_the_edited_verdict_rule(add_layer):
    job = add_layer(0, labels=two_parts(), regions=[ON_PART_1]).job
    assert job_part_summaries(job=job)[0].verdict == "review"
    part_verdict_rule_update(rule=part_verdict_rule(), fail_region_px=10)
    assert job_part_summaries(job=job)[0].verdict == "fail"
    part_verdict_rule_update(rule=part_verdict_rule(), fail_region_px=10_000, review_anomalous_layers=2)
    assert job_part_summaries(job=job)[0].verdict == "pass"


def test_it_lists_the_alerts_over_a_parts_anomalous_layers(add_layer, printer):
    on_part = add_layer(0, labels=two_parts(), regions=[ON_PART_1])
    elsewhere = add_layer(1, labels=two_parts(), regions=[ON_PART_2])
    alert = Alert.objects.create(machine=printer.machine, job=on_part.job, severity="warning", reason="test",
                                 last_layer_index=0)
    alert.layers.add(on_part)
    other = Alert.objects.create(machine=printer.machine, job=on_part.job, severity="warning", reason="other",
                                 last_layer_index=1, status="resolved")
    other.layers.add(elsewhere)
    first, second = job_part_summaries(job=on_part.job)
    assert first.alert_ids == [alert.pk] and second.alert_ids == [other.pk]


def test_it_has_no_parts_for_a_job_without_labels_or_estimates(add_layer):
    assert job_part_summaries(job=add_layer(0, regions=[ON_PART_1]).job) == []


def test_it_gives_each_layers_part_boxes_and_model_frame_labels(add_layer):
    from apps.parts.selectors import job_layer_part_extents, layer_part_frame

    first = add_layer(0, labels=two_parts())
    bare = add_layer(1)
    extents = job_layer_part_extents(job=first.job)
    assert list(extents) == [0] and extents[0][2] == {"bbox": [80, 20, 120, 60], "area": 1600}
    frame = layer_part_frame(layer=first)
    assert frame.shape == (256, 256) and frame[80, 60] == 1
    assert layer_part_frame(layer=bare) is None


def test_it_gives_each_region_its_parts_in_the_layer_api(add_layer, operator_client, settings):
    settings.LAYERWATCH_PART_DAMAGE_DISTANCE_PX = 8
    layer = add_layer(0, labels=two_parts(), regions=[ON_PART_2, NEXT_TO_PART_1, FAR_POWDER])
    regions = operator_client.get(f"/api/v1/layers/{layer.pk}/").json()["regions"]
    got = [(r["part_id"], r["part_ids"], r["part_damage"], r["likely_kind"]) for r in regions]
    assert got == [(2, [2], False, None), (1, [1], True, None), (0, [], False, None)]
    assert regions[0]["box"] == ON_PART_2["box"]


def test_it_shows_each_regions_part_on_the_layer_page(add_layer, operator_client, settings):
    settings.LAYERWATCH_PART_DAMAGE_DISTANCE_PX = 8
    layer = add_layer(0, labels=two_parts(), regions=[ON_PART_2, NEXT_TO_PART_1, FAR_POWDER])
    page = operator_client.get(f"/layers/{layer.pk}/").content.decode()
    assert 'data-testid="region-part">on part 2</span>' in page
    assert 'data-testid="region-part">powder next to part 1</span>' in page
    assert 'data-testid="region-part">on the powder</span>' in page
    assert 'data-testid="region-kind"' not in page  # the machine has no kind classifier
