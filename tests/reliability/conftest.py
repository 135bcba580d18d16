import pytest
import redis

from tests.reliability.broker import broker_at
from tests.reliability.stack import PrivateRedis


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    """A Redis of these tests' own: the session's Celery worker, if one runs, must not take their messages."""
    server = PrivateRedis(tmp_path_factory.mktemp("broker"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def broker(private_redis):
    """The Celery app sends to and reads from the private Redis, emptied before and after the test."""
    client = redis.Redis.from_url(private_redis.url)
    client.flushdb()
    with broker_at(private_redis.url):
        yield client
    client.flushdb()
    client.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Records on the test whether it failed, for fixtures that keep evidence of a failure."""
    report = yield
    if report.when == "call":
        item.failed = report.failed
    return report
