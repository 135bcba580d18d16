"""Settings shared by every environment. Anything read from the environment has a safe default."""

import os
from pathlib import Path

import dj_email_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("LAYERWATCH_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-key-change-me")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "apps.machines",
    "apps.layers",
    "apps.scoring",
    "apps.ui",
    "apps.demo",
    "apps.alerts",
    "apps.monitoring",
    "apps.records",
    "apps.parts",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.machines.authentication.MachineTokenAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.machines.permissions.IsOperator"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "layerwatch API",
    "DESCRIPTION": "Printers upload layer images; operators read scores, label layers and handle alerts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the docs page works without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Uploads: the printer API answers 413 above these limits. Files above the in-memory size are
# spooled to disk by Django, so a large upload never sits in RAM whole.
LAYERWATCH_MAX_IMAGE_BYTES = int(os.environ.get("LAYERWATCH_MAX_IMAGE_BYTES", 32 * 1024 * 1024))
LAYERWATCH_MAX_IMAGE_PIXELS = int(os.environ.get("LAYERWATCH_MAX_IMAGE_PIXELS", 64_000_000))
# Parts: most distinct parts one part-label image may hold; how near a part (image px) a powder
# region counts against it as part damage; layers an estimated part must span to be listed.
LAYERWATCH_MAX_PARTS = int(os.environ.get("LAYERWATCH_MAX_PARTS", 1000))
LAYERWATCH_PART_DAMAGE_DISTANCE_PX = float(os.environ.get("LAYERWATCH_PART_DAMAGE_DISTANCE_PX", 8.0))
LAYERWATCH_ESTIMATED_PART_MIN_LAYERS = int(os.environ.get("LAYERWATCH_ESTIMATED_PART_MIN_LAYERS", 3))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# A layer still queued after this long is put back on the scoring queue by the sweeper.
LAYERWATCH_REQUEUE_AFTER_SECONDS = int(os.environ.get("LAYERWATCH_REQUEUE_AFTER_SECONDS", 600))
# Training reads at most this many layers; a first customer archive has ~45k.
LAYERWATCH_MAX_TRAINING_LAYERS = int(os.environ.get("LAYERWATCH_MAX_TRAINING_LAYERS", 4000))
# The change channel's calibration scores this many good layers in order, at about 0.2 s each on a CPU core.
LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS = int(os.environ.get("LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS", 1500))
LAYERWATCH_TARGET_FPR = float(os.environ.get("LAYERWATCH_TARGET_FPR", 0.01))

# Alert notifications: a slow receiver costs at most the timeout per attempt, on the default queue.
LAYERWATCH_ALERT_HTTP_TIMEOUT = float(os.environ.get("LAYERWATCH_ALERT_HTTP_TIMEOUT", 5.0))
LAYERWATCH_ALERT_MAX_ATTEMPTS = int(os.environ.get("LAYERWATCH_ALERT_MAX_ATTEMPTS", 6))
LAYERWATCH_ALERT_BACKOFF_SECONDS = float(os.environ.get("LAYERWATCH_ALERT_BACKOFF_SECONDS", 10.0))

# Email from one URL (smtp://user:pass@host:587/?tls=True, console://, ...); the console by default.
vars().update(
    {k: v for k, v in dj_email_url.parse(os.environ.get("EMAIL_URL", "console://")).items() if v is not None}
)
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", os.environ.get("LAYERWATCH_ALERT_EMAIL_FROM", "layerwatch@localhost")
)
LAYERWATCH_ALERT_EMAIL_FROM = DEFAULT_FROM_EMAIL
# Links in emails, chat messages and webhook payloads are built on this address of the UI.
LAYERWATCH_BASE_URL = os.environ.get("LAYERWATCH_BASE_URL", "http://localhost:8000").rstrip("/")
# The pause hook's HMAC-SHA256 key for machines that have none of their own.
LAYERWATCH_PAUSE_HOOK_SECRET = os.environ.get("LAYERWATCH_PAUSE_HOOK_SECRET", "")

# "Is it watching?": each worker records a heartbeat; one older than the stale age is a dead worker.
LAYERWATCH_HEARTBEAT_SECONDS = float(os.environ.get("LAYERWATCH_HEARTBEAT_SECONDS", 5))
LAYERWATCH_WORKER_STALE_SECONDS = float(os.environ.get("LAYERWATCH_WORKER_STALE_SECONDS", 20))
# A running job with no new layer for this long is a stalled printer (a system alert) ...
LAYERWATCH_STALL_AFTER_SECONDS = float(os.environ.get("LAYERWATCH_STALL_AFTER_SECONDS", 600))
# ... until this long, after which the job counts as abandoned rather than stalled.
LAYERWATCH_STALL_FORGET_AFTER_SECONDS = float(os.environ.get("LAYERWATCH_STALL_FORGET_AFTER_SECONDS", 24 * 3600))
# A layer waiting for its score longer than this means the scoring workers are behind.
LAYERWATCH_BACKLOG_AFTER_SECONDS = float(os.environ.get("LAYERWATCH_BACKLOG_AFTER_SECONDS", 300))
# How often the beat task looks at the three conditions.
LAYERWATCH_WATCH_INTERVAL_SECONDS = float(os.environ.get("LAYERWATCH_WATCH_INTERVAL_SECONDS", 30))

# Defect kinds: a machine's regions get a likely kind once this many labeled regions of each of
# at least this many kinds exist (apps.records.services.kind_model_refresh).
LAYERWATCH_KIND_MIN_REGIONS = int(os.environ.get("LAYERWATCH_KIND_MIN_REGIONS", 5))
LAYERWATCH_KIND_MIN_KINDS = int(os.environ.get("LAYERWATCH_KIND_MIN_KINDS", 2))

CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "workers.scoring.*": {"queue": "scoring"},
    "workers.training.*": {"queue": "training"},
    "workers.*": {"queue": "default"},
}
CELERY_TASK_TIME_LIMIT = 6 * 3600
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-layers": {"task": "workers.housekeeping.requeue_stuck_layers", "schedule": 60.0},
    "watch-check": {"task": "workers.monitoring.watch_check", "schedule": LAYERWATCH_WATCH_INTERVAL_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # WeasyPrint logs each step of every PDF at INFO; its warnings still show.
    "loggers": {"weasyprint": {"level": "WARNING"}},
}
