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
