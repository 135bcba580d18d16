import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.layers.job_serializers import MAX_JOB_PARTS
from apps.layers.models import Layer, PrintJob
from tests.images import image_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/jobs/"


def post_job(client, **body):
    return client.post(URL, {"job": "build-7", **body}, format="json")


def upload(client, *, job="build-7", layer=0, seed=0):
    form = {"job": job, "layer": layer, "image": SimpleUploadedFile("l.png", image_bytes(seed=seed))}
    return client.post("/api/v1/layers/", form, format="multipart")


def test_it_creates_a_job_with_its_parts_and_answers_201_with_its_numeric_id(printer_client, printer):
    parts = [{"id": 2, "name": "bracket"}, {"id": 1, "name": "housing"}]
    response = post_job(printer_client, name="Brackets", expected_layers=400, parts=parts)
    assert response.status_code == 201, response.content
    body = response.json()
    job = PrintJob.objects.get(pk=body["id"])
    assert (job.machine, job.job_id, job.name, job.expected_layers) == (printer.machine, "build-7", "Brackets", 400)
    assert job.part_names == {"1": "housing", "2": "bracket"}
    assert body["parts"] == [{"id": 1, "name": "housing"}, {"id": 2, "name": "bracket"}]
    assert body["status"] == "running" and body["finished_at"] is None and body["job_id"] == "build-7"


def test_it_answers_200_for_an_existing_job_and_updates_only_the_fields_given(printer_client):
    created = post_job(printer_client, name="Brackets", expected_layers=400, parts=[{"id": 1, "name": "a"}]).json()
    response = post_job(printer_client, expected_layers=420)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == created["id"] and body["expected_layers"] == 420
    assert body["name"] == "Brackets" and body["parts"] == [{"id": 1, "name": "a"}]
    replaced = post_job(printer_client, parts=[{"id": 3, "name": "c"}]).json()
    assert replaced["parts"] == [{"id": 3, "name": "c"}]
    assert PrintJob.objects.count() == 1


def test_it_adopts_the_job_an_upload_created_first(printer_client):
    layer = upload(printer_client).json()
    response = post_job(printer_client, name="Late start")
    assert response.status_code == 200
    assert response.json()["id"] == Layer.objects.get(pk=layer["id"]).job_id
    assert response.json()["layer_count"] == 1


def test_it_keeps_each_machines_jobs_apart(printer_client, other_printer):
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {other_printer.token}")
    mine = post_job(printer_client).json()
    theirs = post_job(other)
    assert theirs.status_code == 201 and theirs.json()["id"] != mine["id"]
    assert other.post(f"{URL}{mine['id']}/finish/").status_code == 404
    assert other.post(f"{URL}{mine['id']}/abort/").status_code == 404
    assert PrintJob.objects.get(pk=mine["id"]).status == "running"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"job": ""}, "job"),
        ({"job": "has space"}, "job"),
        ({"job": "x" * 201}, "job"),
        ({"name": 5}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"expected_layers": 0}, "expected_layers"),
        ({"expected_layers": "400"}, "expected_layers"),
        ({"expected_layers": 4.5}, "expected_layers"),
        ({"expected_layers": True}, "expected_layers"),
        ({"expected_layers": 10_000_001}, "expected_layers"),
        ({"parts": None}, "parts"),
        ({"parts": {"id": 1, "name": "a"}}, "parts"),
        ({"parts": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}, "parts"),
        ({"parts": [{"id": i, "name": "p"} for i in range(1, MAX_JOB_PARTS + 2)]}, "parts"),
        ({"expected_layer": 400}, "expected_layer"),
    ],
)
def test_it_answers_400_with_a_message_for_the_bad_field_and_stores_nothing(printer_client, body, field):
    response = printer_client.post(URL, {"job": "build-7", **body}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field] and response.json()[field]
    assert not PrintJob.objects.exists()


@pytest.mark.parametrize(
    "part,field,message",
    [
        ({"id": 0, "name": "a"}, "id", "greater than or equal to 1"),
        ({"id": -3, "name": "a"}, "id", "greater than or equal to 1"),
        ({"id": 65536, "name": "a"}, "id", "less than or equal to 65535"),
        ({"id": "1", "name": "a"}, "id", "valid integer"),
        ({"id": 1.0, "name": "a"}, "id", "valid integer"),
        ({"name": "a"}, "id", "required"),
        ({"id": 1, "name": ""}, "name", "blank"),
        ({"id": 1, "name": "   "}, "name", "blank"),
        ({"id": 1, "name": 7}, "name", "string"),
        ({"id": 1}, "name", "required"),
        ({"id": 1, "name": "n" * 201}, "name", "no more than 200"),
        ("bracket", "non_field_errors", "Invalid data"),
        ({"id": 1, "name": "a", "colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_it_validates_each_part_strictly(printer_client, part, field, message):
    response = post_job(printer_client, parts=[{"id": 9, "name": "fine"}, part])
    assert response.status_code == 400
    errors = response.json()["parts"]  # keyed by the part's position in the list
    assert list(errors) == ["1"] and message in errors["1"][field][0]
    assert not PrintJob.objects.exists()


def test_it_requires_the_job_id(printer_client):
    response = printer_client.post(URL, {"name": "Brackets"}, format="json")
    assert response.status_code == 400 and response.json() == {"job": ["This field is required."]}


def test_it_refuses_a_body_that_is_not_json(printer_client):
    response = printer_client.post(URL, {"job": "build-7"}, format="multipart")
    assert response.status_code == 415
    broken = printer_client.post(URL, data="{not json", content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.json()["detail"]
    listed = printer_client.post(URL, data="[]", content_type="application/json")
    assert listed.status_code == 400 and "Expected a dictionary" in listed.json()["non_field_errors"][0]


def test_it_takes_job_writes_only_from_a_printer(client, operator_client):
    assert client.post(URL, {"job": "x"}, content_type="application/json").status_code == 401
    assert operator_client.post(URL, {"job": "x"}, format="json").status_code == 403
    assert not PrintJob.objects.exists()


def test_it_finishes_a_job_once_and_answers_a_repeat_unchanged(printer_client):
    job = post_job(printer_client).json()
    response = printer_client.post(f"{URL}{job['id']}/finish/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "finished" and body["finished_at"]
    again = printer_client.post(f"{URL}{job['id']}/finish/")
    assert again.status_code == 200 and again.json()["finished_at"] == body["finished_at"]


def test_it_aborts_a_job_and_refuses_to_finish_it_afterwards(printer_client):
    job = post_job(printer_client).json()
    assert printer_client.post(f"{URL}{job['id']}/abort/").json()["status"] == "aborted"
    response = printer_client.post(f"{URL}{job['id']}/finish/")
    assert response.status_code == 409 and "aborted" in response.json()["detail"]
    assert PrintJob.objects.get(pk=job["id"]).status == "aborted"


def test_it_answers_404_for_a_job_that_does_not_exist(printer_client):
    assert printer_client.post(f"{URL}999999/finish/").status_code == 404


def test_it_refuses_new_layers_for_an_ended_job_with_409_but_answers_a_retry(printer_client):
    job = post_job(printer_client).json()
    stored = upload(printer_client, layer=0)
    printer_client.post(f"{URL}{job['id']}/finish/")
    assert upload(printer_client, layer=0).status_code == 200  # a retry of a stored layer is still a retry
    late = upload(printer_client, layer=1, seed=1)
    assert late.status_code == 409 and "finished" in late.json()["detail"]
    assert list(Layer.objects.values_list("pk", flat=True)) == [stored.json()["id"]]


def test_it_refuses_changes_to_an_ended_job_but_answers_an_identical_repeat(printer_client):
    job = post_job(printer_client, name="Brackets").json()
    printer_client.post(f"{URL}{job['id']}/abort/")
    assert post_job(printer_client, name="Brackets").status_code == 200
    changed = post_job(printer_client, name="Other")
    assert changed.status_code == 409 and "name" in changed.json()["detail"]
    assert PrintJob.objects.get().name == "Brackets"


def test_it_lists_the_printers_jobs_to_operators_only(printer_client, operator_client):
    post_job(printer_client, parts=[{"id": 1, "name": "bracket"}])
    row = operator_client.get(URL).json()["results"][0]
    assert (row["job_id"], row["parts"]) == ("build-7", [{"id": 1, "name": "bracket"}])
    assert printer_client.get(URL).status_code == 403
