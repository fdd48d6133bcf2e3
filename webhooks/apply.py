"""Applying claimed events: handlers in occurred_at order, each outcome recorded, published and counted."""
from __future__ import annotations

import contextlib
import functools
import logging
import traceback
from datetime import datetime

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from portal import live, metrics
from webhooks import batch_cache, registry, shared_rows
from webhooks.live import publish_event
from webhooks.models import WebhookEvent
from webhooks.pipeline import execute_deferred
from webhooks.retries import retry_later

log = logging.getLogger(__name__)
RETRYABLE_STATUSES = (WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED)


class HandlerFailed(Exception):
    """An event of an optimistic batch failed: the batch is rolled back and applied event by event."""

    def __init__(self, pks: list[int]):
        super().__init__(f"a handler failed in a batch of {len(pks)}")
        self.pks = pks


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
        apply_events([event], schedule_retries=False)  # the task retries itself
    return event


def apply_events(events: list[WebhookEvent], *, schedule_retries: bool = True, optimistic: bool = False) -> None:
    """Run handlers in occurred_at order (unknown times last, in arrival order) and record each outcome.

    `optimistic` (a drain's batch): no savepoint at all, so an event costs no savepoint round trips of
    its own, nor does the batch; the first failure raises HandlerFailed, the caller's transaction
    rolls back (with the live updates and tasks queued on commit inside it) and the caller applies
    the batch again with a savepoint per event, so the failing event is recorded and the others apply.
    """
    now = timezone.now()
    ordered = sorted(events, key=lambda e: (e.occurred_at is None, e.occurred_at or now))
    for event in ordered:
        event.first_time = event.attempts == 0 and event.status == WebhookEvent.Status.PENDING
    with batch_cache.batch_scope(), shared_rows.batch_writes():
        for preload in registry.batch_preloads():  # one query per kind of row, not one per event
            preload(ordered)
        done, ignored, failed = _run_handlers(ordered, isolated=not optimistic)
        _record(ordered, done, ignored, failed, now, schedule_retries=schedule_retries)
        # Last: queue and conference rows are locked in one order, only from here to the commit, which
        # follows at once (another drain's batch that needs one of them waits that long, issue 25).
        shared_rows.flush()


def commit_without_waiting_for_disk() -> None:
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
                if isolated:
                    shared_rows.flush()  # within the event's savepoint: undone with it if it fails
        except Exception as exc:  # noqa: BLE001 - a handler bug must not stop other events
            if not isolated:
                raise HandlerFailed([e.pk for e in ordered]) from exc  # redone event by event, where it is recorded
            log.exception("handler failed for webhook event %s (%s)", event.event_id, event.event_type)
            batch_cache.forget()  # its savepoint rolled back: cached rows may hold what it undid
            shared_rows.discard()
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
        publish_event(event, new=event.first_time)
    transaction.on_commit(lambda: metrics.events_applied(done=done, ignored=ignored, failed=failed))
    for event in failed if schedule_retries else ():
        if event.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            transaction.on_commit(lambda pk=event.pk, n=event.attempts: retry_later(pk, n))


def _record_processed(pks: list[int], now: datetime) -> None:
    """Mark events processed: one prepared statement on PostgreSQL (every batch does this), pipelined in a drain."""
    db = connections["default"]
    if db.vendor == "postgresql":
        ids = "{" + ",".join(map(str, pks)) + "}"  # an array literal: psycopg's list dumper quotes each int by regex
        execute_deferred(db, _processed_sql(), (now, ids))
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
