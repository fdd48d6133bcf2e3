"""Draining pending events: coordination between drains, the claim, and batches applied in one transaction."""
from __future__ import annotations

import functools
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction

from portal import live
from webhooks.apply import HandlerFailed, apply_events, commit_without_waiting_for_disk
from webhooks.drain_flag import flag_clear
from webhooks.models import WebhookEvent
from webhooks.prepared import fetch_prepared
from webhooks.retries import drain_again

log = logging.getLogger(__name__)
AGAIN_KEY = "webhooks:drain-again"
DRAIN_LOCK = 0x5745424B  # pg_advisory_lock key of the single active drain ("WEBK")


def events_process_batch(*, limit: int) -> int:
    """Claim up to `limit` pending events atomically, apply them in occurred_at order, record outcomes.

    One transaction per batch: rows are locked with FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite's
    write lock serializes the whole transaction), so two drains never apply the same event, and a
    crash rolls the batch back to pending, applied by nobody. Optimistic: no savepoint while every
    handler succeeds; if one fails, the batch is rolled back and applied again with a savepoint per
    event, so one failing event does not undo the others.
    """
    try:
        with transaction.atomic():
            events = _claim_pending(limit)
            if events:
                commit_without_waiting_for_disk()
                apply_events(events, optimistic=True)
        return len(events)
    except HandlerFailed as failure:
        # The batch's transaction rolled back, its claim with it: claim those events again and apply
        # them with a savepoint each, so the failing one is recorded and the others still apply.
        with transaction.atomic():
            events = list(_claimable().filter(pk__in=failure.pks))
            if events:
                commit_without_waiting_for_disk()
                apply_events(events)
        return len(events)


def _any_pending() -> bool:
    """Whether some event waits, read without a transaction: a lingering drain's poll (one round trip)."""
    db = connections["default"]
    if db.vendor != "postgresql":
        return WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exists()
    return bool(fetch_prepared(db, _any_pending_sql(), ()))


@functools.cache
def _any_pending_sql() -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    return f"SELECT 1 FROM {table} WHERE status = 'pending' LIMIT 1"


def _claim_pending(limit: int) -> list[WebhookEvent]:
    """Lock and load up to `limit` pending events, oldest first, without their raw body.

    On PostgreSQL one prepared statement (the same query as `_claimable`): a drain claims after every
    batch, and compiling the ORM query each time cost four times the round trip (issue 13).
    """
    db = connections["default"]
    if db.vendor != "postgresql":
        return list(_claimable()[:limit])
    fields = _claimed_fields()
    names = [field.attname for field in fields]
    converters = [(i, convert) for i, field in enumerate(fields) for convert in field.get_db_converters(db)]
    events = []
    for row in fetch_prepared(db, _claim_sql(), (limit,)):
        if converters:
            row = list(row)
            for i, convert in converters:
                row[i] = convert(row[i], None, db)
        events.append(WebhookEvent.from_db(db.alias, names, row))
    return events


def _claimable():
    """Pending events, oldest first, locked as read (skipping those another transaction holds)."""
    return (
        WebhookEvent.objects.select_for_update(skip_locked=True)
        .filter(status=WebhookEvent.Status.PENDING)
        .order_by("received_at", "id")
        .defer("raw_body")
    )


@functools.cache
def _claimed_fields() -> tuple:
    return tuple(f for f in WebhookEvent._meta.concrete_fields if f.attname != "raw_body")


@functools.cache
def _claim_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _claimed_fields())
    return (
        f"SELECT {columns} FROM {quote(WebhookEvent._meta.db_table)} WHERE status = 'pending' "
        "ORDER BY received_at, id LIMIT %s FOR UPDATE SKIP LOCKED"
    )


def events_drain(*, batch_size: int | None = None, max_seconds: float | None = None) -> int:
    """Process pending events in batches until none is left (or time is up); returns how many.

    One drain at a time (a PostgreSQL advisory lock): two drains' batch transactions would lock the
    same calls and conferences in different orders and deadlock. A drain that finds the lock taken
    leaves a note first (AGAIN_KEY) and goes; the holder reads the note after releasing the lock
    and drains once more, so whatever made the second drain start is still claimed.
    """
    batch_size = batch_size or settings.WEBHOOK_BATCH_SIZE
    deadline = time.monotonic() + (settings.WEBHOOK_DRAIN_SECONDS if max_seconds is None else max_seconds)
    _note(AGAIN_KEY, True)  # before trying the lock: see the docstring
    if not _drain_lock(True):
        return 0
    total, locked = 0, True
    try:
        while True:
            _note(AGAIN_KEY, False)
            claimed, timed_out = _drain_pass(batch_size, deadline)
            total += claimed
            _drain_lock(False)
            locked = False
            if timed_out:
                drain_again()  # leave the worker to other tasks; a fresh drain takes the rest
                break
            if not _note(AGAIN_KEY) or not _drain_lock(True):
                break
            locked = True
    finally:
        if locked:
            _drain_lock(False)
    return total


def _drain_pass(batch_size: int, deadline: float) -> tuple[int, bool]:
    """Claim and apply batches until none is pending; (events applied, stopped for the deadline)."""
    try:
        flag_clear()  # before claiming: see webhooks.drain_flag.processing_nudge
    except Exception:  # noqa: BLE001 - without the cache, every event nudges; still correct
        log.warning("could not clear the webhook processing flag", exc_info=True)
    # Claim until an empty claim at least WEBHOOK_NUDGE_SKIP_SECONDS after the clearing (processing_nudge).
    linger_until = time.monotonic() + settings.WEBHOOK_NUDGE_SKIP_SECONDS
    total = 0
    idle = False
    with live.coalescing():
        while True:
            # Lingering: poll with one cheap read and open a claiming transaction only if something waits.
            claimed = events_process_batch(limit=batch_size) if not idle or _any_pending() else 0
            idle = not claimed
            total += claimed
            if claimed:
                # Stay a moment after the last event: at a steady trickle the next one is applied by
                # this drain at once, not by a new task the broker has to deliver first.
                linger_until = max(linger_until, time.monotonic() + settings.WEBHOOK_DRAIN_LINGER_SECONDS)
            else:
                wait = linger_until - time.monotonic()
                if wait <= 0:
                    return total, False
                live.flush(force=True)  # what is applied is shown now, not after the wait
                time.sleep(min(wait, settings.WEBHOOK_DRAIN_POLL_SECONDS))
                continue
            # Events keep coming: stay, so list and counter renders are shared by every batch of
            # the next LIVE_RENDER_SECONDS instead of repeated per batch (portal/live.py).
            live.flush()
            if time.monotonic() >= deadline:
                return total, True


def _drain_lock(acquire: bool) -> bool:
    """Take (without waiting) or release the drains' session lock; SQLite serializes writers by itself."""
    db = connections["default"]
    if db.vendor != "postgresql":
        return True
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)" if acquire else "SELECT pg_advisory_unlock(%s)", [DRAIN_LOCK])
        return bool(cursor.fetchone()[0])


def _note(key: str, value: bool | None = None) -> bool:
    """Read (value None), set or clear a shared note in the cache.

    A broken cache reads as unset: without it no delivery can nudge either, and the sweeper drains.
    """
    try:
        if value is None:
            return bool(cache.get(key))
        if value:
            cache.set(key, 1, timeout=settings.WEBHOOK_DRAIN_SECONDS * 6)
        else:
            cache.delete(key)
    except Exception:  # noqa: BLE001 - the sweeper covers for a broken cache
        log.warning("webhook drain note %s unavailable", key, exc_info=True)
        return False
    return True
