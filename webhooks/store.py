"""Storing a verified event: one prepared insert, the payload's keys, and the partition it is applied in."""
from __future__ import annotations

import contextlib
import functools
import zlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks import time_partitions
from webhooks.drain_flag import processing_nudge
from webhooks.models import EventKey, WebhookEvent
from webhooks.prepared import execute_returning

# Pending columns the processor reads; the raw body is for people, handlers use the parsed payload.
_INSERT_COLUMNS = (
    "event_id", "event_type", "occurred_at", "received_at", "raw_body", "payload", "call_control_id",
    "call_session_id", "conference_id", "queue_name", "recording_id", "status", "attempts", "last_error",
    "partition",
)


def occurred_at(data: dict) -> datetime | None:
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


def resource_keys(payload: dict) -> dict:
    queue = payload.get("queue") or payload.get("queue_name")
    return {
        "call_control_id": _text(payload.get("call_control_id")),
        "call_session_id": _text(payload.get("call_session_id")),
        "conference_id": _text(payload.get("conference_id")),
        "queue_name": _text(queue),
        "recording_id": _text(payload.get("recording_id")),
    }


def partition_of(payload: dict, keys: dict, event_id: str) -> int:
    """The drain partition an event is applied in, in order with everything else of its call (issue 25).

    The key is the call session: every call.* event of a leg, and every conference.participant.* event
    about it, names the leg's call_session_id (bridged legs share it), so a participant's call and its
    place in a conference are applied by one drain in order. Conference-wide events name the leg that
    caused them (conference.created/ended/floor.changed: call_session_id; conference.playback/speak:
    creator_call_session_id). Only the conference row is written from several partitions, and its
    handlers compare occurred_at (webhooks/ordering.py) and lock it in a fixed order (webhooks/apply.py).
    Events naming no call spread by conference, recording, then their own id. crc32: the same in
    every process (Python's hash() is salted per process).
    """
    key = (
        keys["call_session_id"] or _text(payload.get("creator_call_session_id")) or keys["conference_id"]
        or keys["recording_id"] or event_id
    )
    return zlib.crc32(key.encode()) % settings.WEBHOOK_PARTITIONS


def event_store(*, data: dict, raw_body: bytes) -> tuple[str, bool]:
    """Insert a verified event once (unique on Telnyx's id) with one statement; nudge the processor on commit.

    Returns (Telnyx's event id, whether it was new). A redelivery of an event that is still pending or
    failed makes it pending again: dedupe the insert, not the processing (dj-stripe once dropped such
    retries). Nothing is published or queued per event here: the processor does that in batches.
    """
    db = connections["default"]  # once: every `connection.x` goes through a context-local lookup
    payload = data.get("payload") or {}
    keys = resource_keys(payload)
    ops = db.ops
    now = timezone.now()
    received_at = ops.adapt_datetimefield_value(now)
    values = (
        data["id"], data["event_type"], ops.adapt_datetimefield_value(occurred_at(data)),
        received_at, raw_body.decode("utf-8"), ops.adapt_json_value(payload, None),
        keys["call_control_id"], keys["call_session_id"], keys["conference_id"], keys["queue_name"],
        keys["recording_id"], WebhookEvent.Status.PENDING, 0, "", partition_of(payload, keys, data["id"]),
    )
    if db.vendor == "postgresql":
        # The event id goes into the dedupe table in the same statement (issue 32, webhooks/time_partitions.py).
        values = (data["id"], received_at, *values)
    if _insert(db, values, now):
        transaction.on_commit(processing_nudge)
        return data["id"], True
    # A redelivery. Pending: make sure a drain comes. Failed: pending again, unless a drain holds it
    # right now (SKIP LOCKED: never wait for a batch to finish while Telnyx waits for the answer).
    # On PostgreSQL its id was remembered within EVENT_DEDUPE_DAYS: only those partitions are read.
    stored = WebhookEvent.objects.filter(event_id=data["id"])
    if db.vendor == "postgresql":
        stored = stored.filter(received_at__gte=now - timedelta(days=settings.EVENT_DEDUPE_DAYS + 1))
    status = stored.values_list("status", flat=True).first()
    if status == WebhookEvent.Status.PENDING or (
        status == WebhookEvent.Status.FAILED and execute_returning(db, _requeue_sql(db.vendor), (data["id"],))
    ):
        transaction.on_commit(processing_nudge)
    return data["id"], False


def _insert(db, values: tuple, now: datetime) -> bool:
    """The insert; True if the event is new. A row no partition takes creates its partition, then is inserted.

    Beat makes partitions ahead (webhooks/time_partitions.py); if it has not run, the first delivery of a
    new month (or day) creates it here rather than failing. The intake runs in autocommit; inside a
    caller's transaction a savepoint keeps that transaction usable after the refused row.
    """
    sql = _insert_sql(db.vendor)
    if db.vendor != "postgresql":
        return execute_returning(db, sql, values)
    try:
        with transaction.atomic(using=db.alias) if db.in_atomic_block else contextlib.nullcontext():
            return execute_returning(db, sql, values)
    except IntegrityError as error:
        if not time_partitions.is_missing_partition(error):
            raise
    time_partitions.ensure_partition(now)
    return execute_returning(db, sql, values)


@functools.cache
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(WebhookEvent._meta.db_table)
    columns = ", ".join(quote(c) for c in _INSERT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    if vendor == "postgresql":
        # One statement, one round trip: the id into the dedupe table, and the event only if the id was
        # new there (a partitioned table's unique indexes must include received_at: issue 32).
        keys = quote(EventKey._meta.db_table)
        return (
            f"WITH new_key AS (INSERT INTO {keys} (event_id, received_at) VALUES (%s, %s) "
            f"ON CONFLICT (event_id) DO NOTHING RETURNING 1) "
            f"INSERT INTO {table} ({columns}) SELECT {placeholders} FROM new_key RETURNING id"
        )
    # ON CONFLICT ... DO NOTHING RETURNING (SQLite >= 3.35): no IntegrityError, no savepoint, one round trip.
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (event_id) DO NOTHING RETURNING id"


@functools.cache
def _requeue_sql(vendor: str) -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    return (
        f"UPDATE {table} SET status = 'pending' WHERE id = "
        f"(SELECT id FROM {table} WHERE event_id = %s AND status = 'failed'{lock}) RETURNING id"
    )
