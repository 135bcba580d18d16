"""A media storage on a full volume: every write fails as the kernel fails it, with ENOSPC."""

import errno
import os

from django.core.files.storage import FileSystemStorage


class FullStorage(FileSystemStorage):
    def _save(self, name, content):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
