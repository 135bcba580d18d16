from celery import shared_task

from apps.scoring.models import ModelVersion
from apps.scoring.training import model_version_activate, model_version_train


@shared_task(acks_late=True)
def train_model_version(version_id: int, epochs: int, activate: bool = True) -> None:
    version = ModelVersion.objects.select_related("machine").get(pk=version_id)
    if version.status != ModelVersion.Status.TRAINING:
        return  # already trained (a redelivered task)
    version = model_version_train(version=version, epochs=epochs, verbose=False)
    if activate:
        model_version_activate(version=version)
