"""Tests run against real PostgreSQL and Redis at DATABASE_URL and REDIS_URL.

`make test` starts private servers when none answer; nothing here falls back to SQLite, so a
missing server fails the run instead of quietly testing something else.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/layerwatch")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# The Celery worker process started by the integration tests must use the test database.
if os.environ.get("LAYERWATCH_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["LAYERWATCH_TEST_DB_NAME"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_database_for_test_process(url: str, worker: str) -> str:
    """Under pytest-xdist, test process gwN (and the Celery worker it starts, which inherits
    PYTEST_XDIST_WORKER) uses the database N below the given one: each flushes its own database
    and its worker takes only its own tasks."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    offset = int(worker.removeprefix("gw"))
    if offset > base:
        raise ValueError(f"REDIS_URL {url}: database {base} leaves no room for test process {worker}")
    return urlunsplit(parts._replace(path=f"/{base - offset}"))


if os.environ.get("PYTEST_XDIST_WORKER"):
    REDIS_URL = _redis_database_for_test_process(REDIS_URL, os.environ["PYTEST_XDIST_WORKER"])
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False



def _scratch_dir(prefix: str) -> Path:
    """A temporary folder that goes when the process that made it exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


# A worker process started by the tests is given the test run's MEDIA_ROOT and leaves it alone.
MEDIA_ROOT = Path(os.environ["MEDIA_ROOT"]) if os.environ.get("MEDIA_ROOT") else _scratch_dir("layerwatch-media-")
STATIC_ROOT = _scratch_dir("layerwatch-static-")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LAYERWATCH_MAX_IMAGE_BYTES = 2 * 1024 * 1024
