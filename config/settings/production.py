"""Production: PostgreSQL and Redis, everything configured from the environment."""

import os

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production")
    return value


SECRET_KEY = _required("SECRET_KEY")
DATABASES = {"default": dj_database_url.parse(_required("DATABASE_URL"), conn_max_age=60)}
REDIS_URL = _required("REDIS_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# Scoring tasks are acked late; a worker that dies mid-batch hands its layers back after this.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    # Optional S3 storage for layer images, heatmaps and model artifacts (pip install '.[s3]').
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    AWS_STORAGE_BUCKET_NAME = os.environ["AWS_STORAGE_BUCKET_NAME"]
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True

# Mail goes through an SMTP server unless EMAIL_URL names another (smtp+tls://user:pass@host:587, ...).
vars().update(
    {k: v for k, v in dj_email_url.parse(os.environ.get("EMAIL_URL", "smtp://localhost:25")).items() if v is not None}
)
