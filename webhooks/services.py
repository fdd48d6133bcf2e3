"""Every write to webhook events: store on arrival, process by handlers, re-queue."""
from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import time
import traceback
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import live, metrics
from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.celery import app as celery_app
from portal.redis_client import kept_redis_client
from webhooks import nudger, registry
from webhooks.models import WebhookEvent

log = logging.getLogger(__name__)
RETRYABLE_STATUSES = (WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED)


def _occurred_at(data: dict) -> datetime | None:
    """When the event happened, in UTC; None when absent or not a real time (a signed event is still stored)."""
    value = data.get("occurred_at") or (data.get("payload") or {}).get("occurred_at")
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        # A time without a zone is UTC (Telnyx's own). In UTC now, so a year-9999 time with a negative
        # offset fails here, not in the database adapter after the answer is decided.
        return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC) if parsed else None
    except (ValueError, OverflowError):  # "2026-13-45T..." matches the pattern but is no date
        return None


def _text(value) -> str:
    return value[:255] if isinstance(value, str) else ""


def _resource_keys(payload: dict) -> dict:
    queue = payload.get("queue") or payload.get("queue_name")
    return {
        "call_control_id": _text(payload.get("call_control_id")),
        "call_session_id": _text(payload.get("call_session_id")),
        "conference_id": _text(payload.get("conference_id")),
        "queue_name": _text(queue),
        "recording_id": _text(payload.get("recording_id")),
    }


NUDGE_KEY = "webhooks:drain-requested"
AGAIN_KEY = "webhooks:drain-again"
DRAIN_LOCK = 0x5745424B  # pg_advisory_lock key of the single active drain ("WEBK")
_flag_seen_at = float("-inf")
_nudge_failed = False  # the last nudge could not reach Redis or the broker (see _nudge)
# Pending columns the processor reads; the raw body is for people, handlers use the parsed payload.
_INSERT_COLUMNS = (
    "event_id", "event_type", "occurred_at", "received_at", "raw_body", "payload", "call_control_id",
    "call_session_id", "conference_id", "queue_name", "recording_id", "status", "attempts", "last_error",
)


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


def _nudge() -> None:
    """Set the drain flag and, if this call set it, queue a drain; on failure the next delivery asks again.

    After a failure the next nudge queues a drain whatever the flag says: a hung Redis may still
    apply the flag our timed-out call sent, once it recovers, with no drain coming (issue 23).
    """
    from webhooks.tasks import process_pending

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
            _flag_clear()
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


def _flag_clear() -> None:
    client = kept_redis_client()
    if client is not None:
        client.delete(cache.make_key(NUDGE_KEY))
    else:
        cache.delete(NUDGE_KEY)


def queue_processing(event_pk: int) -> None:
    """Hand one event to a worker (retries, re-processing); if the broker is down the sweeper finds it."""
    from webhooks.tasks import process_event

    try:
        process_event.delay(event_pk)
    except Exception:  # noqa: BLE001 - any broker failure; the event is stored and will be swept
        log.warning("could not queue webhook event %s; the sweeper will pick it up", event_pk, exc_info=True)


def event_store(*, data: dict, raw_body: bytes) -> tuple[str, bool]:
    """Insert a verified event once (unique on Telnyx's id) with one statement; nudge the processor on commit.

    Returns (Telnyx's event id, whether it was new). A redelivery of an event that is still pending or
    failed makes it pending again: dedupe the insert, not the processing (dj-stripe once dropped such
    retries). Nothing is published or queued per event here: the processor does that in batches.
    """
    db = connections["default"]  # once: every `connection.x` goes through a context-local lookup
    payload = data.get("payload") or {}
    keys = _resource_keys(payload)
    ops = db.ops
    values = (
        data["id"], data["event_type"], ops.adapt_datetimefield_value(_occurred_at(data)),
        ops.adapt_datetimefield_value(timezone.now()), raw_body.decode("utf-8"), ops.adapt_json_value(payload, None),
        keys["call_control_id"], keys["call_session_id"], keys["conference_id"], keys["queue_name"],
        keys["recording_id"], WebhookEvent.Status.PENDING, 0, "",
    )
    if _execute_returning(db, _insert_sql(), values):
        transaction.on_commit(processing_nudge)
        return data["id"], True
    # A redelivery. Pending: make sure a drain comes. Failed: pending again, unless a drain holds it
    # right now (SKIP LOCKED: never wait for a batch to finish while Telnyx waits for the answer).
    status = WebhookEvent.objects.filter(event_id=data["id"]).values_list("status", flat=True).first()
    if status == WebhookEvent.Status.PENDING or (
        status == WebhookEvent.Status.FAILED and _execute_returning(db, _requeue_sql(db.vendor), (data["id"],))
    ):
        transaction.on_commit(processing_nudge)
    return data["id"], False


def _fetch_prepared(db, sql: str, params: tuple) -> list[tuple]:
    """Rows of one statement prepared once per PostgreSQL connection (see _execute_returning)."""
    import psycopg

    db.ensure_connection()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else []


def _execute_returning(db, sql: str, params: tuple) -> bool:
    """Run one statement with RETURNING; True if it returned a row.

    On PostgreSQL through a server-side binding cursor, prepared once per connection: Django's default
    client-side binding quotes every parameter into the SQL text in Python and has the server parse
    and plan it again on every delivery (issue 13). Driver errors still surface as Django's.
    """
    if db.vendor == "postgresql":
        return bool(_fetch_prepared(db, sql, params))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


@functools.cache
def _insert_sql() -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    # ON CONFLICT ... DO NOTHING RETURNING: PostgreSQL and SQLite >= 3.35 alike; no IntegrityError,
    # no savepoint, one round trip.
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (event_id) DO NOTHING RETURNING id"


@functools.cache
def _requeue_sql(vendor: str) -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    return (
        f"UPDATE {table} SET status = 'pending' WHERE id = "
        f"(SELECT id FROM {table} WHERE event_id = %s AND status = 'failed'{lock}) RETURNING id"
    )


def event_process(*, event_pk: int) -> WebhookEvent | None:
    """Apply one event now if it is still pending or failed (retries); None if another worker holds it."""
    with live.coalescing(), transaction.atomic():
        event = (
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_pk)
            .first()
        )
        if event is None:
            return None
        if event.status not in RETRYABLE_STATUSES:
            return event
        _apply([event], schedule_retries=False)  # the task retries itself
    return event


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
                _commit_without_waiting_for_disk()
                _apply(events, optimistic=True)
        return len(events)
    except _HandlerFailed as failure:
        # The batch's transaction rolled back, its claim with it: claim those events again and apply
        # them with a savepoint each, so the failing one is recorded and the others still apply.
        with transaction.atomic():
            events = list(_claimable().filter(pk__in=failure.pks))
            if events:
                _commit_without_waiting_for_disk()
                _apply(events)
        return len(events)


def _any_pending() -> bool:
    """Whether some event waits, read without a transaction: a lingering drain's poll (one round trip)."""
    db = connections["default"]
    if db.vendor != "postgresql":
        return WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exists()
    return bool(_fetch_prepared(db, _any_pending_sql(), ()))


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
    for row in _fetch_prepared(db, _claim_sql(), (limit,)):
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
                _drain_again()  # leave the worker to other tasks; a fresh drain takes the rest
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
        _flag_clear()  # before claiming: see processing_nudge
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


def _drain_again() -> None:
    from webhooks.tasks import process_pending

    try:
        process_pending.delay()
    except Exception:  # noqa: BLE001 - the sweeper finds what is left
        log.warning("could not queue the next webhook drain", exc_info=True)


class _HandlerFailed(Exception):
    """An event of an optimistic batch failed: the batch is rolled back and applied event by event."""

    def __init__(self, pks: list[int]):
        super().__init__(f"a handler failed in a batch of {len(pks)}")
        self.pks = pks


def _apply(events: list[WebhookEvent], *, schedule_retries: bool = True, optimistic: bool = False) -> None:
    """Run handlers in occurred_at order (unknown times last, in arrival order) and record each outcome.

    `optimistic` (a drain's batch): no savepoint at all, so an event costs no savepoint round trips of
    its own, nor does the batch; the first failure raises _HandlerFailed, the caller's transaction
    rolls back (with the live updates and tasks queued on commit inside it) and the caller applies
    the batch again with a savepoint per event, so the failing event is recorded and the others apply.
    """
    now = timezone.now()
    ordered = sorted(events, key=lambda e: (e.occurred_at is None, e.occurred_at or now))
    for event in ordered:
        event.first_time = event.attempts == 0 and event.status == WebhookEvent.Status.PENDING
    done, ignored, failed = _run_handlers(ordered, isolated=not optimistic)
    _record(ordered, done, ignored, failed, now, schedule_retries=schedule_retries)


def _commit_without_waiting_for_disk() -> None:
    """Let this transaction's commit return before its WAL reaches disk (PostgreSQL: synchronous_commit off).

    Waiting for a 200-event batch's flush (16-100 ms) made every intake insert committing meanwhile
    wait behind it. A drain's batch only derives state from pending events and marks them processed
    in the same transaction, so a database crash within ~3 x wal_writer_delay loses it whole: its
    events are pending again and the sweeper applies them once; its on-commit side effects (a
    conference name fetch, recording downloads) are idempotent reads of Telnyx. The intake itself
    still commits durably before its 200. Not for a failed event's retry (event_process): lost, it
    would stay failed with its task acknowledged, and the sweeper takes only pending events. Only in
    a transaction of its own: inside a caller's, the setting would cover the caller's writes too.
    """
    if connection.vendor == "postgresql" and not connection.savepoint_ids:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


def _run_handlers(ordered: list[WebhookEvent], *, isolated: bool) -> tuple[list, list, list]:
    """Apply each event's handlers; (done, ignored, failed). Not isolated: the first failure raises."""
    done, ignored, failed = [], [], []
    for event in ordered:
        handlers = registry.handlers_for(event.event_type)
        if not handlers:
            ignored.append(event)
            continue
        try:
            with transaction.atomic() if isolated else contextlib.nullcontext():
                for handler in handlers:
                    handler(event)
        except Exception as exc:  # noqa: BLE001 - a handler bug must not stop other events
            if not isolated:
                raise _HandlerFailed([e.pk for e in ordered]) from exc  # redone event by event, where it is recorded
            log.exception("handler failed for webhook event %s (%s)", event.event_id, event.event_type)
            event.last_error = traceback.format_exc()
            failed.append(event)
        else:
            done.append(event)
    return done, ignored, failed


def _record(ordered, done, ignored, failed, now, *, schedule_retries: bool) -> None:
    """Store each event's outcome, publish its row, count it and schedule retries of the failed."""
    Status = WebhookEvent.Status
    if done:
        _record_processed([e.pk for e in done], now)
    if ignored:
        WebhookEvent.objects.filter(pk__in=[e.pk for e in ignored]).update(status=Status.IGNORED, processed_at=now)
    for event in failed:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=Status.FAILED, attempts=F("attempts") + 1, last_error=event.last_error, processed_at=now
        )
    for status, group in ((Status.PROCESSED, done), (Status.IGNORED, ignored), (Status.FAILED, failed)):
        for event in group:
            event.status, event.processed_at = status, now
            if status != Status.IGNORED:
                event.attempts += 1
            if status == Status.PROCESSED:
                event.last_error = ""
    for event in ordered:
        _publish(event, new=event.first_time)
    transaction.on_commit(lambda: metrics.events_applied(done=done, ignored=ignored, failed=failed))
    for event in failed if schedule_retries else ():
        if event.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            transaction.on_commit(lambda pk=event.pk, n=event.attempts: _retry_later(pk, n))


def _record_processed(pks: list[int], now: datetime) -> None:
    """Mark events processed: one prepared statement on PostgreSQL (every batch does this)."""
    db = connections["default"]
    if db.vendor == "postgresql":
        _fetch_prepared(db, _processed_sql(), (now, pks))
        return
    WebhookEvent.objects.filter(pk__in=pks).update(
        status=WebhookEvent.Status.PROCESSED, attempts=F("attempts") + 1, last_error="", processed_at=now
    )


@functools.cache
def _processed_sql() -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    return (
        f"UPDATE {table} SET status = 'processed', attempts = attempts + 1, last_error = '', processed_at = %s "
        "WHERE id = ANY(%s::bigint[])"
    )


def _retry_later(event_pk: int, attempts: int) -> None:
    from webhooks.tasks import process_event

    try:
        process_event.apply_async((event_pk,), countdown=min(300, 2**attempts))
    except Exception:  # noqa: BLE001 - stays failed; re-process from the admin or the command
        log.warning("could not schedule a retry of webhook event %s", event_pk, exc_info=True)


def events_reprocess(*, queryset, user) -> int:
    """Mark the chosen events pending again and nudge the processor; returns how many (`user` None: the system)."""
    if user is not None and not user.has_perm("webhooks.reprocess_webhookevent"):
        raise PermissionDenied("You do not have permission to re-process webhook events.")
    chosen = list(queryset.values_list("pk", "event_id"))
    pks = [pk for pk, _ in chosen]
    with transaction.atomic():
        WebhookEvent.objects.filter(pk__in=pks).update(status=WebhookEvent.Status.PENDING)
        if pks:
            event_ids = [event_id for _, event_id in chosen]
            audit_record(
                kind=AuditEntry.Kind.EVENT_REPROCESSED, user=user,
                target=event_ids[0] if len(event_ids) == 1 else f"{len(event_ids)} events",
                summary=f"{len(event_ids)} webhook event(s) queued for re-processing",
                detail={"count": len(event_ids), "event_ids": event_ids[:500]},
            )
    if pks:
        transaction.on_commit(_drain_again)
    live.publish_admin_changed("webhooks", "webhookevent")
    return len(pks)


def events_sweep(*, older_than_seconds: int) -> int:
    """Count pending events no drain took in time and drain them (a lost task message loses nothing)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    stale = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING, received_at__lt=cutoff).count()
    if stale:
        _drain_again()
    return stale


def _publish(event: WebhookEvent, *, new: bool = False) -> None:
    from django.template.loader import render_to_string

    event = copy.copy(event)  # rendered after commit (if watched): as it is now
    live.publish_on_commit(
        "events", lambda: render_to_string("webhooks/_event_row.html", {"event": event, "oob": True, "new": new})
    )
    live.publish_admin_changed("webhooks", "webhookevent")
    if event.status == WebhookEvent.Status.FAILED:
        live.publish_dashboard()


def pretty_payload(event: WebhookEvent) -> str:
    """The payload indented for reading."""
    return json.dumps(event.payload, indent=2, sort_keys=True)
