"""GET /api/v1/jobs/{id}/parts/, the job page's parts table, and the verdict rule page."""

import pytest
from rest_framework.test import APIClient

from apps.parts.models import PartVerdictRule
from apps.parts.selectors import part_verdict_rule
from tests.parts.conftest import region, two_parts

pytestmark = pytest.mark.django_db
ON_PART_2 = region(180, 60, 10, 10, peak=3.5)


@pytest.fixture
def job(add_layer):
    for index in range(3):
        add_layer(index, labels=two_parts(), regions=[ON_PART_2])
    return add_layer(3, labels=two_parts(), regions=[]).job


def url(job) -> str:
    return f"/api/v1/jobs/{job.pk}/parts/"


def test_it_lists_a_jobs_parts_for_operators(operator_client, job):
    response = operator_client.get(url(job))
    assert response.status_code == 200
    first, second = response.json()
    assert first == {
        "id": 1, "name": "Part 1", "estimated": False, "layers": {"first": 0, "last": 3}, "anomalous_layers": [],
        "anomalous_ranges": [], "worst_score": None, "largest_region_px": 0, "defect_kinds": [], "alerts": [],
        "verdict": "pass", "bbox": [10, 20, 50, 60],
    }
    assert second["anomalous_layers"] == [0, 1, 2] and second["anomalous_ranges"] == [[0, 2]]
    assert second["verdict"] == "fail" and second["worst_score"] == 3.5


def test_it_lets_the_owning_machine_read_its_jobs_parts(printer_client, job):
    assert printer_client.get(url(job)).status_code == 200


def test_it_hides_a_job_from_another_machine(other_printer, job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {other_printer.token}")
    assert client.get(url(job)).status_code == 404


def test_it_answers_401_without_credentials_and_404_for_an_unknown_job(client, operator_client, job):
    assert client.get(url(job)).status_code == 401
    assert operator_client.get("/api/v1/jobs/999999/parts/").status_code == 404


def test_it_shows_the_parts_table_with_verdicts_on_the_job_page(operator_client, job):
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'data-testid="job-parts"' in page
    assert 'data-testid="verdict-1">pass<' in page and 'data-testid="verdict-2">fail<' in page
    assert "0–2" in page  # part 2's anomalous range


def test_it_says_so_when_a_job_has_no_parts(operator_client, add_layer):
    job = add_layer(0, regions=[]).job
    assert "No parts known yet" in operator_client.get(f"/jobs/{job.pk}/").content.decode()


def test_it_creates_the_default_verdict_rule_in_a_migration():
    rule = PartVerdictRule.objects.get()
    assert (rule.review_anomalous_layers, rule.fail_anomalous_layers, rule.fail_region_px) == (1, 3, 2000)


@pytest.fixture
def admin_client(django_user_model):
    django_user_model.objects.create_user("ada", password="admin-password", is_staff=True)
    client = APIClient()
    client.login(username="ada", password="admin-password")
    return client


RULE_URL = "/parts/verdict-rule/"


def test_it_lets_an_admin_edit_the_verdict_rule(admin_client, operator_client, job):
    form = {"review_anomalous_layers": 1, "fail_anomalous_layers": 5, "fail_region_px": 100_000,
            "fail_kinds": "short_feed, streak"}
    assert admin_client.post(RULE_URL, form).status_code == 302
    rule = part_verdict_rule()
    assert (rule.fail_anomalous_layers, rule.fail_kinds) == (5, ["short_feed", "streak"])
    assert operator_client.get(url(job)).json()[1]["verdict"] == "review"
    assert "short_feed, streak" in admin_client.get(RULE_URL).content.decode()


@pytest.mark.parametrize(
    "form,field,message",
    [
        ({"review_anomalous_layers": 4, "fail_anomalous_layers": 2, "fail_region_px": 10}, None, "Review cannot"),
        ({"review_anomalous_layers": 0, "fail_anomalous_layers": 2, "fail_region_px": 10}, "review_anomalous_layers",
         "greater than or equal to 1"),
        ({"review_anomalous_layers": 1, "fail_anomalous_layers": 2, "fail_region_px": -3}, "fail_region_px",
         "greater than or equal to 0"),
    ],
)
def test_it_answers_400_with_a_message_for_a_bad_rule_and_keeps_the_old_one(admin_client, form, field, message):
    response = admin_client.post(RULE_URL, {**form, "fail_kinds": ""})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert part_verdict_rule().fail_anomalous_layers == 3


def test_it_shows_the_rule_to_operators_but_refuses_their_changes(operator_client):
    assert "Only admins change the rule" in operator_client.get(RULE_URL).content.decode()
    form = {"review_anomalous_layers": 1, "fail_anomalous_layers": 9, "fail_region_px": 10}
    assert operator_client.post(RULE_URL, form).status_code == 403
    assert part_verdict_rule().fail_anomalous_layers == 3


def test_it_reads_a_jobs_parts_in_a_fixed_number_of_queries(add_layer, django_assert_max_num_queries):
    from apps.parts.selectors import job_part_summaries

    for index in range(8):
        add_layer(index, labels=two_parts(), regions=[ON_PART_2])
    job = add_layer(8, labels=two_parts(), regions=[]).job
    with django_assert_max_num_queries(4):  # parts with layers and scores, alerts, the rule; no label kinds
        assert len(job_part_summaries(job=job)) == 2


def test_it_judges_by_the_default_rule_and_saves_it_again_if_the_rule_was_deleted(admin_client, operator_client, job):
    PartVerdictRule.objects.all().delete()
    assert operator_client.get(url(job)).json()[1]["verdict"] == "fail"
    form = {"review_anomalous_layers": 1, "fail_anomalous_layers": 4, "fail_region_px": 2000, "fail_kinds": ""}
    assert admin_client.post(RULE_URL, form).status_code == 302
    assert PartVerdictRule.objects.get().fail_anomalous_layers == 4
