from django.db import models


class Machine(models.Model):
    """A printer. It authenticates with its own API token, of which only a hash is kept."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    # The token's public prefix finds the row; the hash of the whole token proves it.
    token_prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    pause_on_critical = models.BooleanField(default=False)
    pause_url = models.URLField(blank=True)
    pause_secret = models.CharField(
        max_length=200, blank=True, help_text="Pause hook: HMAC-SHA256 key, as for a webhook; else the fleet's key."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
