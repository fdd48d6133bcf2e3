"""The shared "a drain is due" flag: the intake sets it (at most one task per drain), a drain clears it."""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from portal.celery import app as celery_app
from portal.redis_client import kept_redis_client
from webhooks import nudger

log = logging.getLogger(__name__)
NUDGE_KEY = "webhooks:drain-requested"
_flag_seen_at = float("-inf")
_nudge_failed = False  # the last nudge could not reach Redis or the broker (see _nudge)


def processing_nudge() -> None:
    """Make sure a drain will run after this event's commit, sending at most one task per drain.

    The flag is cleared by the drain *before* it claims, so an event committed before the clearing is
    claimed by that drain, and one whose nudge comes after it sends a new task (issue 13). A lost task
    (broker down) leaves the flag until it expires; the sweeper finds anything left pending.

    A process that saw the flag set less than WEBHOOK_NUDGE_SKIP_SECONDS ago does not ask again: the
    drain that clears that flag keeps claiming until that long after clearing it, so it still sees
    this event (one Redis round trip per window per process instead of one per delivery).

    The asking itself (Redis, then the broker) runs in this process's nudger thread, after the
    answer is decided: a hung Redis must not hold deliveries (issue 23). Eager tasks (tests, no
    broker) ask here, so the event is applied before the response as before.
    """
    global _flag_seen_at
    now = time.monotonic()
    if now - _flag_seen_at < settings.WEBHOOK_NUDGE_SKIP_SECONDS:
        return  # this process saw the flag set a moment ago: a drain still to come will claim this event
    _flag_seen_at = now  # the time *before* asking: the safe side of the window
    if celery_app.conf.task_always_eager:
        _nudge()
    else:
        nudger.ask(_nudge)


def forget_seen_flag() -> None:
    """Ask Redis at the next delivery whatever this process saw last (tests start each case afresh)."""
    global _flag_seen_at, _nudge_failed
    _flag_seen_at, _nudge_failed = float("-inf"), False


def _nudge() -> None:
    """Set the drain flag and, if this call set it, queue a drain; on failure the next delivery asks again.

    After a failure the next nudge queues a drain whatever the flag says: a hung Redis may still
    apply the flag our timed-out call sent, once it recovers, with no drain coming (issue 23).
    """
    from webhooks.tasks import process_pending  # tasks import the drain, which imports this module

    global _flag_seen_at, _nudge_failed
    try:
        if not _flag_set(force=_nudge_failed):
            return
    except Exception:  # noqa: BLE001 - cache down or hung: the event is stored and will be swept
        log.warning("could not flag webhook processing; the sweeper will pick events up", exc_info=True)
        _flag_seen_at, _nudge_failed = float("-inf"), True
        return
    try:
        process_pending.delay()
    except Exception:  # noqa: BLE001 - any broker failure; the event is stored and will be swept
        log.warning("could not queue webhook processing; the sweeper will pick events up", exc_info=True)
        _flag_seen_at, _nudge_failed = float("-inf"), True  # no drain is coming: the next delivery must try again
        try:
            flag_clear()
        except Exception:  # noqa: BLE001
            pass
        return
    _nudge_failed = False


def _flag_set(*, force: bool = False) -> bool:
    """Set the drain flag unless it is set (`force`: even if it is); True if this call set it."""
    client = kept_redis_client()
    if client is not None:
        return bool(client.set(cache.make_key(NUDGE_KEY), 1, nx=not force, ex=settings.WEBHOOK_NUDGE_TTL_SECONDS))
    if force:
        cache.set(NUDGE_KEY, 1, timeout=settings.WEBHOOK_NUDGE_TTL_SECONDS)
        return True
    return cache.add(NUDGE_KEY, 1, timeout=settings.WEBHOOK_NUDGE_TTL_SECONDS)


def flag_clear() -> None:
    client = kept_redis_client()
    if client is not None:
        client.delete(cache.make_key(NUDGE_KEY))
    else:
        cache.delete(NUDGE_KEY)


def flag_keep() -> None:
    """Keep the flag set for another WEBHOOK_NUDGE_TTL_SECONDS if it still is (a drain standing by is still to come)."""
    client = kept_redis_client()
    if client is not None:
        client.expire(cache.make_key(NUDGE_KEY), settings.WEBHOOK_NUDGE_TTL_SECONDS)  # a cleared flag stays cleared
    else:
        cache.touch(NUDGE_KEY, settings.WEBHOOK_NUDGE_TTL_SECONDS)
