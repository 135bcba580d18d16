from django.conf import settings
from django.db import models

from apps.layers.models import Layer


class LabelLock(models.Model):
    """A labeler's claim on a layer in the queue, so that two people never label it at once.

    A lock past `expires_at` is free for anyone: the queue reclaims it.
    """

    layer = models.OneToOneField(Layer, on_delete=models.CASCADE, related_name="label_lock")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.layer_id} by {self.user_id} until {self.expires_at:%H:%M:%S}"
