"""The whole OpenAPI surface fuzzed with schemathesis, as an operator, an admin and a printer.

No request may get a 5xx, and every 4xx must say why. LAYERWATCH_FUZZ_EXAMPLES sets the number of
examples per operation and caller (small by default).
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from tests.security.fuzzing import EXAMPLES, in_process_wsgi, refusal_problem, rolled_back, tally

pytestmark = pytest.mark.django_db


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method.upper()) for path, item in schema["paths"].items() for method in item]


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_schema():
    with in_process_wsgi():
        return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def no_throttles(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}


def auth_header(caller: str, fleet, django_user_model) -> str:
    if caller == "printer":
        return f"Token {fleet.own.token}"
    user = django_user_model.objects.create_user(caller, is_staff=caller == "admin")
    return f"Token {Token.objects.create(user=user).key}"


@pytest.mark.parametrize("caller", ["operator", "admin", "printer"])
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_it_answers_fuzzed_requests_without_server_errors(
    path, method, caller, api_schema, fleet, no_throttles, django_user_model
):
    operation = api_schema[path][method]
    headers = {"Authorization": auth_header(caller, fleet, django_user_model)}
    real = fleet.path_values()
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))
    problems: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(case=cases, use_real_ids=st.booleans())
    def run(case, use_real_ids):
        if use_real_ids and case.path_parameters:
            # Half the time the path names rows that exist, so the handlers behind the lookups run too.
            case.path_parameters = {k: real.get(k, v) for k, v in case.path_parameters.items()}
        with rolled_back(), in_process_wsgi():
            response = case.call(headers=headers)
        tally(response.status_code)
        problem = refusal_problem(response.status_code, response.content)
        if problem:
            problems.append(f"{case.as_curl_command()}\n  -> {problem}")
        assert problem is None, problems[-1]

    run()
