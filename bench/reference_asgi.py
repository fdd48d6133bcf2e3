"""The fan-out part's reference (issue 25): the portal's ASGI application with channels' own dispatch in the
live socket, as before the socket forwarded fragments without close_old_connections' thread hop.

Served by a second daphne on its own port, so both are measured in the same run on the same machine.
"""
from channels.consumer import AsyncConsumer

from portal.asgi import application
from portal.consumers import LiveConsumer

LiveConsumer.dispatch = AsyncConsumer.dispatch  # this process only: the reference server

__all__ = ["application"]
