import pytest
import redis
from django.conf import settings


@pytest.fixture
def broker():
    """The test run's Redis broker, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Records on the test whether it failed, for fixtures that keep evidence of a failure."""
    report = yield
    if report.when == "call":
        item.failed = report.failed
    return report
