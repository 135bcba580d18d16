import fcntl
import shutil
from pathlib import Path

import numpy as np
import pytest
from rest_framework.test import APIClient

from apps.machines.services import machine_create
from apps.scoring.models import ModelVersion
from ml.scorers.seed import SeedScorer
from ml.synthetic import generate_layers
from tests.images import image_bytes
from tests.ml.helpers import PBLM
from tests.worker import celery_worker_process, worker_drained  # noqa: F401  (fixtures for every test folder)


def _django_order(item: pytest.Item) -> int:
    """pytest-django's order: tests that roll back (0), then those that flush the database (1), then the rest (2)."""
    marker = item.get_closest_marker("django_db")
    fixtures = item.fixturenames
    if (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))) or (
        "transactional_db" in fixtures or "live_server" in fixtures
    ):
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, so the two test processes (which take the next test as each
    finishes one) end together rather than one running a long test alone at the end. A test
    that flushes the database still comes after every test that rolls back in the same process
    (a flush removes the rows migrations made); a long test without the database comes first of all."""

    def key(item: pytest.Item) -> tuple[int, float]:
        order = _django_order(item)
        long = item.get_closest_marker("long")
        seconds = long.args[0] if long else 0.0
        if long and order == 2:
            return (0, -seconds)
        return (1 + 2 * order + (0 if long else 1), -seconds)

    items.sort(key=key)


@pytest.fixture
def eager_tasks():
    """Runs Celery tasks inline (retries too, without their countdown). The worker modules are
    loaded as a worker process loads them, so tasks that apps send by name run here too."""
    from config.celery import app as celery_app

    celery_app.loader.import_default_modules()
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def printer(db):
    """A machine and its token, as a printer holds it."""
    return machine_create(name="Printer A")


@pytest.fixture
def other_printer(db):
    return machine_create(name="Printer B")


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("olivia", password="shift-password")


@pytest.fixture
def printer_client(printer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printer.token}")
    return client


@pytest.fixture
def operator_client(operator) -> APIClient:
    client = APIClient()
    client.login(username="olivia", password="shift-password")
    return client


@pytest.fixture
def png():
    return image_bytes()


def _trained_once(tmp_path_factory, worker_id: str, name: str, scorer, *, n: int = 8, size: int = 256) -> Path:
    """`scorer` trained briefly on n synthetic good layers of size px and saved once for the whole
    run: the first test process to need it trains it, the other (under pytest-xdist) waits and
    reads it."""
    # Under xdist the base temp's parent is this run's own folder, shared by its test processes.
    root = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    path = root / "models" / name
    path.parent.mkdir(exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            images = np.stack([lr.image.astype(np.float32) / 255 for lr in generate_layers(seed=1, n=n, size=size)])
            scorer.fit(images, epochs=1, batch_size=8, verbose=False)
            scorer.save(path.with_suffix(".partial.keras"))
            path.with_suffix(".partial.keras").rename(path)
    return path


@pytest.fixture(scope="session")
def seed_artifact(tmp_path_factory, worker_id) -> Path:
    """A seed autoencoder trained briefly on synthetic good layers, shared by the whole run."""
    return _trained_once(tmp_path_factory, worker_id, "seed.keras", SeedScorer())


@pytest.fixture(scope="session")
def local_artifact(tmp_path_factory, worker_id) -> Path:
    """A local-scorer model trained briefly on synthetic good layers, shared by the whole run."""
    from ml.scorers.local import LocalScorer

    return _trained_once(tmp_path_factory, worker_id, "local.keras", LocalScorer({"min_samples": 16}))


FULL_RES_SIDE = 512


@pytest.fixture(scope="session")
def full_res_artifact(tmp_path_factory, worker_id) -> Path:
    """A local-scorer model told to score at the camera's resolution, trained briefly on 512 px
    synthetic layers, shared by the whole run."""
    from ml.scorers.local import LocalScorer

    scorer = LocalScorer({"min_samples": 16, "resolution": 0})
    return _trained_once(tmp_path_factory, worker_id, "full_resolution.keras", scorer, n=6, size=FULL_RES_SIDE)


@pytest.fixture
def install_model(seed_artifact, local_artifact, settings):
    """Gives a machine an active model version (seed, or "local") with the given threshold."""

    def install(machine, *, threshold: float = 1000.0, scorer: str = "seed") -> ModelVersion:
        from django.core.files import File

        from ml.artifacts import file_sha256

        artifact = local_artifact if scorer == "local" else seed_artifact
        version = ModelVersion(machine=machine, version=machine.model_versions.count() + 1, scorer=scorer,
                               status=ModelVersion.Status.ACTIVE, threshold=threshold,
                               calibration_method="fpr_target", sha256=file_sha256(artifact))
        with artifact.open("rb") as handle:
            version.artifact.save("model.keras", File(handle), save=False)
        version.save()
        return version

    return install


@pytest.fixture
def pblm_dir(tmp_path) -> Path:
    if not PBLM.is_dir():
        pytest.fail(f"The PBLM sample is missing at {PBLM}")
    target = tmp_path / "pblm"
    shutil.copytree(PBLM, target)
    return target
