"""Draining pending events: coordination between drains, the claim, and batches applied in one transaction."""
from __future__ import annotations

import contextlib
import functools
import logging
import math
import random
import time
import uuid

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, connections, transaction

from portal import live
from portal.celery import app as celery_app
from webhooks import lag
from webhooks.apply import HandlerFailed, apply_events, commit_without_waiting_for_disk
from webhooks.drain_flag import flag_clear, flag_keep
from webhooks.models import WebhookEvent
from webhooks.partitions import Holdings, all_held
from webhooks.pipeline import pipelined
from webhooks.prepared import fetch_prepared, objects_from_rows
from webhooks.retries import drain_again

log = logging.getLogger(__name__)
AGAIN_KEY = "webhooks:drain-again"
HELP_KEY = "webhooks:drain-help"
STANDBY_KEY = "webhooks:drain-standby"
GATHER_FROM = 4  # a batch of this many events or more (not full) waits for the next to gather (_gather)
STANDBY_POLL_SECONDS = 0.05  # a drain standing by looks this often for free partitions or a call for help
DEADLOCK_RETRIES = 3  # a batch cancelled by PostgreSQL's deadlock detector is applied again this many times


def events_process_batch(*, limit: int, keys: list[int] | None = None) -> int:
    """Claim up to `limit` pending events atomically, apply them in occurred_at order, record outcomes.

    `keys`: the stored partition values to claim from (the drain's holdings); None: every partition.
    One transaction per batch: rows are locked with FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite's
    write lock serializes the whole transaction), so two drains never apply the same event, and a
    crash rolls the batch back to pending, applied by nobody. Optimistic: no savepoint while every
    handler succeeds; if one fails, the batch is rolled back and applied again with a savepoint per
    event, so one failing event does not undo the others.
    """
    try:
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                with transaction.atomic():
                    events = _claim_pending(limit, keys)
                    if events:
                        commit_without_waiting_for_disk()
                        _apply_pipelined(events)
                break
            except (HandlerFailed, DatabaseError) as exc:
                # Another drain's batch held a shared row this one needed while waiting for one of ours
                # (a row no batch locks up front: a queue created meanwhile, a bridged leg elsewhere):
                # PostgreSQL cancelled one. Its batch rolled back whole: claim and apply it again.
                if attempt == DEADLOCK_RETRIES or not _deadlocked(exc):
                    raise
                log.info("webhook batch deadlocked with another drain; applying it again")
                time.sleep(random.uniform(0.005, 0.05))
    except HandlerFailed as failure:
        # The batch's transaction rolled back, its claim with it: claim those events again and apply
        # them with a savepoint each, so the failing one is recorded and the others still apply.
        with transaction.atomic():
            events = list(_claimable().filter(pk__in=failure.pks))
            if events:
                commit_without_waiting_for_disk()
                apply_events(events)
    lag.note_batch(min((e.received_at for e in events), default=None))
    return len(events)


def _apply_pipelined(events: list[WebhookEvent]) -> None:
    """An optimistic batch with its writes pipelined (webhooks/pipeline.py). A deferred write's failure may
    surface after the handlers (at the shared rows' flush, the batch's record, the last sync): any such
    failure but a deadlock also means "redo the batch event by event, unpipelined", where it is an
    event's own error again, recorded against that event, rather than a drain that fails on every claim."""
    try:
        with pipelined():
            apply_events(events, optimistic=True)
    except DatabaseError as exc:
        if _deadlocked(exc):
            raise
        raise HandlerFailed([e.pk for e in events]) from exc


def _deadlocked(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is PostgreSQL's deadlock or serialization failure."""
    seen = exc
    while seen is not None:
        if isinstance(seen, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _any_pending(keys: list[int] | None = None) -> bool:
    """Whether some event waits (in `keys`' partitions), read without a transaction: a lingering drain's poll."""
    db = connections["default"]
    if db.vendor != "postgresql":
        return WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exists()
    if keys is None:
        return bool(fetch_prepared(db, _any_pending_sql(), ()))
    return bool(fetch_prepared(db, _any_pending_in_sql(), (keys,)))


@functools.cache
def _any_pending_sql() -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    return f"SELECT 1 FROM {table} WHERE status = 'pending' LIMIT 1"


@functools.cache
def _any_pending_in_sql() -> str:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    return (
        f"SELECT 1 FROM unnest(%s::smallint[]) AS p(n) WHERE EXISTS "
        f"(SELECT 1 FROM {table} WHERE status = 'pending' AND \"partition\" = p.n) LIMIT 1"
    )


def _claim_pending(limit: int, keys: list[int] | None = None) -> list[WebhookEvent]:
    """Lock and load up to `limit` pending events (of `keys`' partitions), oldest first, without their raw body.

    On PostgreSQL one prepared statement (the same query as `_claimable`): a drain claims after every
    batch, and compiling the ORM query each time cost four times the round trip (issue 13). With
    partitions, each partition's oldest are read from the pending index apart (a LATERAL per
    partition), so a claim never sorts a whole backlog.
    """
    db = connections["default"]
    if db.vendor != "postgresql":
        return list(_claimable()[:limit])
    rows = fetch_prepared(db, _claim_sql(), (limit,)) if keys is None else fetch_prepared(
        db, _claim_partitions_sql(), (keys, limit, limit, limit)
    )
    return objects_from_rows(WebhookEvent, _claimed_fields(), db, rows)


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


@functools.cache
def _claim_partitions_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(WebhookEvent._meta.db_table)
    columns = ", ".join(f"e.{quote(field.column)}" for field in _claimed_fields())
    # Each partition's oldest ids first (one short read of the pending index per partition, which holds
    # every column asked here), the oldest `limit` of those, then lock those rows: the ids drive the
    # join, so no plan walks the whole backlog once per id. Narrowed to `limit` before the join: with
    # 16 partitions a claim of 200 fetched and sorted 3,200 whole rows to keep 200 (15 -> 6 ms).
    oldest = (
        f"SELECT x.id FROM unnest(%s::smallint[]) AS p(n), LATERAL (SELECT id, received_at FROM {table} "
        "WHERE status = 'pending' AND \"partition\" = p.n ORDER BY received_at, id LIMIT %s) AS x "
        "ORDER BY x.received_at, x.id LIMIT %s"
    )
    return (
        f"SELECT {columns} FROM {table} AS e WHERE e.id = ANY(ARRAY({oldest})) "
        # An expression, not `status = 'pending'`: rechecked on each locked row (a retry may have applied it
        # meanwhile), but never a reason for the planner to walk the pending index instead of the ids.
        "AND (e.status || '') = 'pending' ORDER BY e.received_at, e.id LIMIT %s FOR UPDATE SKIP LOCKED"
    )


def events_drain(*, batch_size: int | None = None, max_seconds: float | None = None, standby: bool = False) -> int:
    """Process pending events in batches until none is left (or time is up); returns how many.

    Partitioned (issue 25): the drain holds its share of the partitions (webhooks/partitions.py) and
    claims only their events, so several drains, on any machines, apply different partitions at once,
    each partition in order. Before it ends, a drain tries every partition once more; one it cannot
    take (another drain holds it) it leaves a note about first (AGAIN_KEY, its own token), and a drain
    that finds someone else's note after letting go of its partitions runs once more, so an event
    stored while its partition's holder was ending is still claimed. SQLite: one drain holds all.

    `standby` (process_pending, the drain task): while running drains hold every partition and none
    asked for help, wait instead of taking a share, or end if another task waits already (_stand_by).
    """
    if standby and not _stand_by(time.monotonic() + settings.WEBHOOK_DRAIN_SECONDS):
        return 0
    batch_size = batch_size or settings.WEBHOOK_BATCH_SIZE
    deadline = time.monotonic() + (settings.WEBHOOK_DRAIN_SECONDS if max_seconds is None else max_seconds)
    me = uuid.uuid4().hex
    holdings = Holdings()
    holdings.join()
    total = 0
    try:
        while True:
            _note(AGAIN_KEY, False)  # whatever was asked before this round, this round does
            claimed, timed_out = _drain_pass(holdings, me, batch_size, deadline)
            total += claimed
            holdings.release_all()
            if timed_out:
                drain_again()  # leave the worker to other tasks; a fresh drain takes the rest
                break
            if _note(AGAIN_KEY) in (None, me):
                break
    finally:
        holdings.leave()
    return total


def _stand_by(until: float) -> bool:
    """Wait while running drains hold every partition, unless one asks for help (a backlog) or `until`
    passes; False: another task stands by already, and this one has nothing to do.

    At a steady rate the first delivery after a drain clears the flag queues one more drain task.
    Taking a share at once, that second drain halved both drains' batches, so each batch's fixed work
    (its transaction, claim and loads) and every list and counter frame sent live were paid twice for
    the same events (issue 25: 50 pages at 300 events/s, p95 89-105 -> 63-76 ms and half the frames).
    One task at a time stands by (STANDBY_KEY); it keeps the flag set, since it is the drain still to
    come, and clears it when it starts claiming (_drain_pass), so no delivery goes unclaimed. It starts
    as soon as a holder ends or lets go of a partition, or asks for help (a full batch: _ask_for_help).
    A task that finds another standing by ends: that one will claim what it was queued for.
    """
    me, kept_at, standing = uuid.uuid4().hex, time.monotonic(), False
    try:
        while time.monotonic() < until:
            if not all_held() or _note(HELP_KEY) is not None:
                return True
            if not standing:
                if not cache.add(STANDBY_KEY, me, timeout=math.ceil(settings.WEBHOOK_DRAIN_SECONDS) + 5):
                    return False
                standing = True
            if time.monotonic() - kept_at >= settings.WEBHOOK_NUDGE_TTL_SECONDS / 2:
                kept_at = time.monotonic()
                flag_keep()
            _pause(STANDBY_POLL_SECONDS)
        return True
    except Exception:  # noqa: BLE001 - a drain that cannot see the locks or the cache takes its share, as before
        log.warning("could not tell whether other drains hold every partition; draining at once", exc_info=True)
        return True
    finally:
        if standing:
            with contextlib.suppress(Exception):
                if cache.get(STANDBY_KEY) == me:
                    cache.delete(STANDBY_KEY)


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _drain_pass(holdings: Holdings, me: str, batch_size: int, deadline: float) -> tuple[int, bool]:
    """Claim and apply batches until none is pending; (events applied, stopped for the deadline)."""
    try:
        flag_clear()  # before claiming: see webhooks.drain_flag.processing_nudge
    except Exception:  # noqa: BLE001 - without the cache, every event nudges; still correct
        log.warning("could not clear the webhook processing flag", exc_info=True)
    # Claim until an empty claim at least WEBHOOK_NUDGE_SKIP_SECONDS after the clearing (processing_nudge).
    started = time.monotonic()
    linger_until = started + settings.WEBHOOK_NUDGE_SKIP_SECONDS
    total = 0
    idle = closing = False
    holdings.balance(force=True)
    with live.coalescing():
        while True:
            if not closing:
                holdings.balance()
            if not holdings.held:
                # Every partition is held by others that have not yet let go of this drain's share (they
                # do between batches): wait a few of their batches, then leave them to it.
                if time.monotonic() - started > max(2.0, settings.WEBHOOK_REBALANCE_SECONDS * 4):
                    _note(AGAIN_KEY, me)  # more drains than partitions: the holders look once more
                    return total, False
                time.sleep(settings.WEBHOOK_DRAIN_POLL_SECONDS)
                continue
            keys = holdings.keys()
            batch_started = time.monotonic()
            # Lingering: poll with one cheap read and open a claiming transaction only if something waits.
            claimed = events_process_batch(limit=batch_size, keys=keys) if not idle or _any_pending(keys) else 0
            idle = not claimed
            total += claimed
            if claimed:
                closing = False
                # Stay a moment after the last event: at a steady trickle the next one is applied by
                # this drain at once, not by a new task the broker has to deliver first.
                linger_until = max(linger_until, time.monotonic() + settings.WEBHOOK_DRAIN_LINGER_SECONDS)
                if claimed == batch_size:
                    _ask_for_help(holdings)
            else:
                wait = linger_until - time.monotonic()
                if wait <= 0:
                    if closing or len(holdings.held) == holdings.count:
                        return total, False
                    # A last look over every partition: another drain may have ended meanwhile.
                    closing, idle = True, False
                    _note(AGAIN_KEY, me)  # before trying: see events_drain
                    holdings.take_all()
                    continue
                live.flush(force=True)  # what is applied is shown now, not after the wait
                time.sleep(min(wait, settings.WEBHOOK_DRAIN_POLL_SECONDS))
                continue
            # Events keep coming: stay, so list and counter renders are shared by every batch of
            # the next LIVE_RENDER_SECONDS instead of repeated per batch (portal/live.py).
            live.flush()
            if time.monotonic() >= deadline:
                return total, True
            _gather(batch_started, claimed, batch_size)


def _gather(batch_started: float, claimed: int, batch_size: int) -> None:
    """After a batch of a handful or more that was not full, let events gather until
    WEBHOOK_BATCH_GATHER_SECONDS after its start.

    A batch costs about as much again in fixed work (its transaction, claim, loads and outcome) as ten
    of its events: at a steady 500 events/s a drain claiming at once ran batches of a few events, and
    that fixed work took the cores the intake and the pages needed (issue 25; the live part's p95 at
    500/s and 50 pages fell from about 210 to 150 ms with 20 ms). A full batch (a backlog) never waits,
    nor does a trickle (fewer than GATHER_FROM events), whose next event is shown as soon as it comes.
    """
    if claimed < GATHER_FROM or claimed >= batch_size:
        return
    wait = settings.WEBHOOK_BATCH_GATHER_SECONDS - (time.monotonic() - batch_started)
    if wait > 0:
        time.sleep(wait)


def _ask_for_help(holdings: Holdings) -> None:
    """A full batch: a backlog. Queue one more drain (at most one per WEBHOOK_REBALANCE_SECONDS, all drains
    together), so an idle events worker anywhere takes a share of the partitions: no operator needed."""
    if not holdings.locking or len(holdings.held) < 2 or celery_app.conf.task_always_eager:
        return
    try:
        asked = cache.add(HELP_KEY, 1, timeout=max(1, math.ceil(settings.WEBHOOK_REBALANCE_SECONDS * 2)))
    except Exception:  # noqa: BLE001 - without the cache the drains still apply everything, only fewer at once
        return
    if asked:
        drain_again()


def _note(key: str, value: str | bool | None = None) -> str | None:
    """Read (value None), leave (a drain's token, unless a note is there) or clear (False) a shared note.

    A broken cache reads as unset: without it no delivery can nudge either, and the sweeper drains.
    """
    try:
        if value is None:
            found = cache.get(key)
            return None if found is None else str(found)
        if value is False:
            cache.delete(key)
        else:  # never over another drain's note: that drain's holders must still see one
            cache.add(key, value, timeout=settings.WEBHOOK_DRAIN_SECONDS * 6)
    except Exception:  # noqa: BLE001 - the sweeper covers for a broken cache
        log.warning("webhook drain note %s unavailable", key, exc_info=True)
    return None
