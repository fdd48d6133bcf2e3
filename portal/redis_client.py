"""The default cache's Redis client, kept per process, for the hot paths that talk to Redis directly."""
from __future__ import annotations

import os

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def kept_redis_client():
    """The Redis cache's client for this process, or None for other caches.

    Django's RedisCache builds a new client object (and its table of ~170 response callbacks) on every
    call; on the intake's flag and the drain's presence lookups that cost more than the round trip
    itself (issue 13). A forked child builds its own: a connection must not cross a fork.
    """
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    kept = getattr(backend, "_kept_client", None)
    if kept is None or kept[0] != os.getpid():
        kept = backend._kept_client = (os.getpid(), backend._cache.get_client(write=True))
    return kept[1]
