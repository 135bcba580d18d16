"""The analyze endpoint, which runs a real model on whatever it is sent, fuzzed with Hypothesis."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.security.fuzzing import EXAMPLES, refusal_problem, tally
from tests.security.test_fuzz_upload import images

pytestmark = pytest.mark.django_db


def test_it_analyzes_fuzzed_images_without_server_errors(printer, install_model, operator_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    install_model(printer.machine)

    @hypothesis_settings(
        max_examples=EXAMPLES * 2, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(data=st.one_of(images(), st.binary(max_size=512)), machine=st.sampled_from(["", "printer-a", "nope"]))
    def run(data, machine):
        form = {"image": SimpleUploadedFile("x.png", data, content_type="image/png")}
        if machine:
            form["machine"] = machine
        response = operator_client.post("/api/v1/analyze/", form, format="multipart")
        tally(response.status_code)
        problem = refusal_problem(response.status_code, response.content)
        assert problem is None, problem

    run()
