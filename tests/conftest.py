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


@pytest.fixture(scope="session")
def seed_artifact(tmp_path_factory) -> Path:
    """A seed autoencoder trained briefly on synthetic good layers, shared by the whole run."""
    images = np.stack([lr.image.astype(np.float32) / 255 for lr in generate_layers(seed=1, n=8, size=256)])
    scorer = SeedScorer()
    scorer.fit(images, epochs=1, batch_size=8, verbose=False)
    path = tmp_path_factory.mktemp("models") / "seed.keras"
    scorer.save(path)
    return path


@pytest.fixture(scope="session")
def local_artifact(tmp_path_factory) -> Path:
    """A local-scorer model trained briefly on synthetic good layers, shared by the whole run."""
    from ml.scorers.local import LocalScorer

    images = np.stack([lr.image.astype(np.float32) / 255 for lr in generate_layers(seed=1, n=8, size=256)])
    scorer = LocalScorer({"min_samples": 16})
    scorer.fit(images, epochs=1, batch_size=8, verbose=False)
    path = tmp_path_factory.mktemp("models") / "local.keras"
    scorer.save(path)
    return path


FULL_RES_SIDE = 512


@pytest.fixture(scope="session")
def full_res_artifact(tmp_path_factory) -> Path:
    """A local-scorer model told to score at the camera's resolution, trained briefly on 512 px
    synthetic layers, shared by the whole run."""
    from ml.preprocess import preprocess
    from ml.scorers.local import LocalScorer

    layers = np.stack([preprocess(lr.image, FULL_RES_SIDE) for lr in generate_layers(seed=1, n=6, size=FULL_RES_SIDE)])
    scorer = LocalScorer({"min_samples": 16, "resolution": 0})
    scorer.fit(layers, epochs=1, batch_size=8, verbose=False)
    path = tmp_path_factory.mktemp("models") / "full_resolution.keras"
    scorer.save(path)
    return path


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
