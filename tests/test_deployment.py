import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _production_settings(env: dict) -> subprocess.CompletedProcess:
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({'db': settings.DATABASES['default'], 'broker': settings.CELERY_BROKER_URL,"
        "'hosts': settings.ALLOWED_HOSTS, 'media': str(settings.MEDIA_ROOT)}, default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    return _settings_run("config.settings.production", code, {**clean, **env})


def _settings_run(module: str, code: str, env: dict) -> subprocess.CompletedProcess:
    """`code` run in a fresh interpreter under the settings `module`, with `env` as its environment."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": module},
    )


def test_it_reads_production_settings_from_the_environment():
    result = _production_settings({
        "SECRET_KEY": "s3cret", "DATABASE_URL": "postgres://u:p@db.example:5432/lw",
        "REDIS_URL": "redis://cache.example:6379/0", "ALLOWED_HOSTS": "lw.example", "MEDIA_ROOT": "/data/media",
    })
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["db"]["HOST"] == "db.example" and values["db"]["NAME"] == "lw"
    assert values["broker"] == "redis://cache.example:6379/0"
    assert values["hosts"] == ["lw.example"] and values["media"] == "/data/media"


def test_it_refuses_to_start_production_without_a_database_url():
    result = _production_settings({"SECRET_KEY": "s3cret", "REDIS_URL": "redis://x:6379/0"})
    assert result.returncode != 0 and "DATABASE_URL must be set" in result.stderr


def test_the_embedded_broker_keeps_all_its_folders_under_var():
    code = (
        "import json; from django.conf import settings;"
        "print(json.dumps({'var': str(settings.VAR_DIR), 'options': settings.CELERY_BROKER_TRANSPORT_OPTIONS}))"
    )
    result = _settings_run("config.settings.local", code, dict(os.environ))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    folders = {key: Path(value) for key, value in values["options"].items() if "folder" in key}
    # kombu keeps its exchange tables in ./control unless told otherwise: wherever the demo started.
    assert "control_folder" in folders
    assert all(folder.is_relative_to(values["var"]) for folder in folders.values()), folders
