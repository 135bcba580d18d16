"""The embedded default's message broker: kombu's filesystem transport, with whole messages.

kombu writes a message file where consumers look for it, and a consumer that lists the folder
moves the file away as soon as it appears, possibly before a byte is written. The worker then
reads an empty message and stops ("Unrecoverable error: JSONDecodeError"), which `make demo` did
once under load. Here each message is written under a name consumers skip, then renamed into
place: a rename within one folder is atomic, so a message file is whole whenever it is seen.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps

ALIAS = "layerwatch-filesystem"
_WRITING = ".writing"  # consumers take only names ending in ".<queue>.msg"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # kombu's name: consumers take messages in the order of their names, oldest first.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + _WRITING
        try:
            with open(partial, "w", encoding="utf-8") as file:
                file.write(dumps(payload))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


# Celery and kombu pick a transport by the broker URL's scheme: `layerwatch-filesystem://`.
TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
