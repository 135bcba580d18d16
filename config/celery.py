"""The Celery app: `celery -A config worker -Q scoring` finds it here."""

import os
import pkgutil
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of logs

app = Celery("layerwatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every module under workers/ holds tasks; listing them means a new task module needs no config.
_WORKERS = Path(__file__).resolve().parent.parent / "workers"
app.conf.imports = tuple(f"workers.{m.name}" for m in pkgutil.iter_modules([str(_WORKERS)]))
