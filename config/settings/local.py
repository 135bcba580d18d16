"""The embedded default: SQLite and a filesystem broker, so no server is needed.

The worker still runs as its own process; both processes share the SQLite file (in WAL mode, so
the web server reads while the worker writes) and the broker's message folder.
"""

import os

from config.broker import ALIAS as _FILESYSTEM_BROKER

from .base import *  # noqa: F403
from .base import VAR_DIR

DEBUG = os.environ.get("DEBUG", "1") == "1"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "layerwatch.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

_BROKER_DIR = VAR_DIR / "broker"
for _sub in ("queue", "processed", "control"):
    (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)

# kombu's filesystem transport, writing whole messages (config.broker).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"{_FILESYSTEM_BROKER}://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_BROKER_DIR / "queue"),
    "data_folder_out": str(_BROKER_DIR / "queue"),
    "processed_folder": str(_BROKER_DIR / "processed"),
    # The exchange tables; kombu's default is a "control" folder in whatever directory the
    # process started in.
    "control_folder": str(_BROKER_DIR / "control"),
    "store_processed": False,
}
