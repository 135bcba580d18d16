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
    "apps.audit",
    "axes",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last but Prometheus's, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
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
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.machines.throttles.MachineRateThrottle",
        "apps.machines.throttles.OperatorRateThrottle",
        "apps.machines.throttles.AnonymousRateThrottle",
    ],
    # Per token (printers), per user (operators) and per address (no login). A printer sends a layer
    # every few seconds at most: these leave it room for retries and a spool flushed at once.
    "DEFAULT_THROTTLE_RATES": {
        "machine": os.environ.get("LAYERWATCH_THROTTLE_MACHINE", "1200/min"),
        "operator": os.environ.get("LAYERWATCH_THROTTLE_OPERATOR", "1200/min"),
        "anonymous": os.environ.get("LAYERWATCH_THROTTLE_ANONYMOUS", "120/min"),
    },
}

# Throttle counters live in the cache: local memory here, Redis in production (shared by processes).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "layerwatch"}}

# Login lockout (django-axes): this many failures for one username from one address lock it out for
# the cool-off time; a successful login resets the count.
AUTHENTICATION_BACKENDS = [
    "apps.machines.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LAYERWATCH_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = float(os.environ.get("LAYERWATCH_LOGIN_COOLOFF_MINUTES", 15)) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.machines.lockout.lockout_response"

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
# The largest side in px new models score layers at: a camera larger than this is brought down to
# it, a smaller one is scored at its own resolution (rounded to a multiple of 256).
LAYERWATCH_SCORING_RESOLUTION = int(os.environ.get("LAYERWATCH_SCORING_RESOLUTION", 512))

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
# A broker that restarts is waited for, at start-up too. A task running when the connection drops
# finishes: the solo and threads pools cannot cancel it (Celery would stop the worker instead), and
# its message coming back, or re-sent by the sweeper, finds its layers claimed or scored.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BEAT_SCHEDULE = {
    "watch-check": {"task": "workers.monitoring.watch_check", "schedule": LAYERWATCH_WATCH_INTERVAL_SECONDS},
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
    # WeasyPrint logs each step of every PDF at INFO; its warnings still show.
    "loggers": {"weasyprint": {"level": "WARNING"}},
}
