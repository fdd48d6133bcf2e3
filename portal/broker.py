"""The embedded profile's Celery broker: kombu's filesystem transport, with messages written atomically."""
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    """Publish each message under a temporary name, then rename it into the queue folder.

    kombu creates the `.msg` file first and writes it afterwards, so a worker polling in between
    moves away an empty file and dies on the JSON error (kombu issue 1551), losing the message and,
    under `make run`, stopping every process. A rename is atomic: a reader sees the whole message
    or none of it, and the temporary name never matches a queue's `<queue>.msg` suffix.
    """

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self):
        """A folder has no host, port or login: no defaults to fill in (issue 27).

        kombu's virtual transports default the hostname to "localhost", and every connection made or
        described without one (each pooled producer, the worker's consumer and its remote-control box)
        logged "No hostname was supplied. Reverting to default 'localhost'" as a warning under `make run`.
        """
        return {}
