"""Settings shared by every environment. Anything read from the environment has a safe default."""

import os
from pathlib import Path

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
    "apps.machines",
    "apps.layers",
    "apps.scoring",
    "apps.ui",
    "apps.demo",
    "apps.alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# Delivery of scoring (apps.scoring.claims, docs/reliability.md). The sweeper runs this often; it
# re-sends a queued layer unclaimed this long whose message is on no queue, or claimed longer than
# the claim timeout (its worker died). On a broker it cannot read (not Redis) it waits UNSEEN_AFTER.
LAYERWATCH_SWEEP_INTERVAL_SECONDS = float(os.environ.get("LAYERWATCH_SWEEP_INTERVAL_SECONDS", 20))
LAYERWATCH_REQUEUE_AFTER_SECONDS = int(os.environ.get("LAYERWATCH_REQUEUE_AFTER_SECONDS", 30))
LAYERWATCH_CLAIM_TIMEOUT_SECONDS = int(os.environ.get("LAYERWATCH_CLAIM_TIMEOUT_SECONDS", 60))
LAYERWATCH_REQUEUE_UNSEEN_AFTER_SECONDS = int(os.environ.get("LAYERWATCH_REQUEUE_UNSEEN_AFTER_SECONDS", 600))
# A scoring batch waits this long for a restarting database before it gives its layers to the sweeper.
LAYERWATCH_DATABASE_RETRY_SECONDS = float(os.environ.get("LAYERWATCH_DATABASE_RETRY_SECONDS", 120))
# Retention (apps.layers.files): days to keep each kind of file; 0 keeps them for ever. Labeled
# layers, layers in alerts and layers kept by hand are never thinned. Beat applies it daily.
LAYERWATCH_RETAIN_IMAGES_DAYS = int(os.environ.get("LAYERWATCH_RETAIN_IMAGES_DAYS", 0))
LAYERWATCH_RETAIN_HEATMAPS_DAYS = int(os.environ.get("LAYERWATCH_RETAIN_HEATMAPS_DAYS", 0))
LAYERWATCH_RETAIN_RECONSTRUCTIONS_DAYS = int(os.environ.get("LAYERWATCH_RETAIN_RECONSTRUCTIONS_DAYS", 0))
LAYERWATCH_DISK_USAGE_CACHE_SECONDS = int(os.environ.get("LAYERWATCH_DISK_USAGE_CACHE_SECONDS", 300))
# Training reads at most this many layers; a first customer archive has ~45k.
LAYERWATCH_MAX_TRAINING_LAYERS = int(os.environ.get("LAYERWATCH_MAX_TRAINING_LAYERS", 4000))
# The change channel's calibration scores this many good layers in order, at about 0.2 s each on a CPU core.
LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS = int(os.environ.get("LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS", 1500))
LAYERWATCH_TARGET_FPR = float(os.environ.get("LAYERWATCH_TARGET_FPR", 0.01))

# Alert notifications: a slow receiver costs at most the timeout per attempt, on the default queue.
LAYERWATCH_ALERT_HTTP_TIMEOUT = float(os.environ.get("LAYERWATCH_ALERT_HTTP_TIMEOUT", 5.0))
LAYERWATCH_ALERT_MAX_ATTEMPTS = int(os.environ.get("LAYERWATCH_ALERT_MAX_ATTEMPTS", 6))
LAYERWATCH_ALERT_BACKOFF_SECONDS = float(os.environ.get("LAYERWATCH_ALERT_BACKOFF_SECONDS", 10.0))
LAYERWATCH_ALERT_EMAIL_FROM = os.environ.get("LAYERWATCH_ALERT_EMAIL_FROM", "layerwatch@localhost")

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
# A broker that restarts is waited for, at start-up too. A task running when the connection drops
# finishes: the solo and threads pools cannot cancel it (Celery would stop the worker instead), and
# its message coming back, or re-sent by the sweeper, finds its layers claimed or scored.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-layers": {
        "task": "workers.housekeeping.requeue_stuck_layers",
        "schedule": LAYERWATCH_SWEEP_INTERVAL_SECONDS,
        # Sweeps left waiting behind a busy queue go stale; one that runs late still does its job.
        "options": {"expires": 10 * LAYERWATCH_SWEEP_INTERVAL_SECONDS},
    },
    "apply-retention": {"task": "workers.retention.apply_retention", "schedule": 24 * 3600.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
