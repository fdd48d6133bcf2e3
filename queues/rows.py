"""Row mechanics shared by the queue writes: lock a queue, note an event, fill and close a stay, renumber a line."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from calls.batch import leg_surely_uncommanded
from portal.models import Command
from queues.models import Queue, QueuedCall
from webhooks import batch_cache, shared_rows
from webhooks.payloads import number, when
from webhooks.pipeline import execute_deferred
from webhooks.prepared import save_row

KIND = "queues"  # the batch's queue objects by name (webhooks/batch_cache.py)
RENUMBER_ATTEMPTS = 10  # whole-line passes of a line whose stays other transactions hold (_renumber_soon: when)
RENUMBER_AGAIN_SECONDS = 0.2
RENUMBER_AGAIN_MAX_SECONDS = 30.0
LINE_START = datetime(1, 1, 1, tzinfo=UTC)  # a renumbering from here ranks the whole line
log = logging.getLogger(__name__)


def queue_for_update(name: str, *, seen_at: datetime | None = None) -> Queue:
    """The queue named `name` (created if new), locked so its stays and positions change one event at a time.

    In a drain's batch it is not locked here: a queue's callers are in every partition, so its row is
    written once at the end of the batch (webhooks/shared_rows.py), and a call's stays are only ever
    written by its own partition's drain.
    """
    if shared_rows.in_batch():
        queue = batch_cache.cached(KIND, name)
        if queue is None:
            queue, _ = Queue.objects.get_or_create(name=name, defaults={"created_at": seen_at or timezone.now()})
            batch_cache.remember(KIND, name, queue)
        return queue
    queue = Queue.objects.select_for_update().filter(name=name).first()  # one statement for a known queue
    if queue is None:
        queue, _ = Queue.objects.get_or_create(name=name, defaults={"created_at": seen_at or timezone.now()})
        queue = Queue.objects.select_for_update().get(pk=queue.pk)
    return queue


def queue_note_event(queue: Queue, occurred_at: datetime, *, revive: bool = False, average_wait_secs: int | None = None) -> None:
    """An event about this queue: when it was last seen and heard of, revived if it had gone, Telnyx's average wait."""
    shared_rows.write_later(queue, lambda row: _noted(row, occurred_at, revive, average_wait_secs))


def _noted(queue: Queue, occurred_at: datetime, revive: bool, average_wait_secs: int | None) -> list[str]:
    changes = []
    if queue.last_seen_at is None or occurred_at > queue.last_seen_at:
        queue.last_seen_at = occurred_at
        changes.append("last_seen_at")
    if revive and queue.deleted_at and occurred_at > queue.deleted_at:
        queue.deleted_at = None  # a caller entered it again: it exists again
        changes.append("deleted_at")
    if average_wait_secs is not None and (queue.average_wait_reported_at is None or occurred_at >= queue.average_wait_reported_at):
        queue.average_wait_secs, queue.average_wait_reported_at = average_wait_secs, occurred_at
        changes += ["average_wait_secs", "average_wait_reported_at"]
    if queue.last_event_at is None or occurred_at > queue.last_event_at:
        queue.last_event_at = occurred_at
        changes.append("last_event_at")
    return changes


def queue_apply_telnyx(queue: Queue, data: dict, *, reported_at: datetime | None = None) -> None:
    """Copy what Telnyx says of a queue (create, update, retrieve, list) onto its row."""
    queue.telnyx_id = data.get("id") or queue.telnyx_id
    queue.max_size = number(data, "max_size") if number(data, "max_size") is not None else queue.max_size
    queue.current_size = number(data, "current_size") if number(data, "current_size") is not None else queue.current_size
    if number(data, "average_wait_time_secs") is not None:
        queue.average_wait_secs = number(data, "average_wait_time_secs")
        queue.average_wait_reported_at = reported_at or timezone.now()
    queue.created_at = when(data.get("created_at")) or queue.created_at or timezone.now()
    queue.updated_at = when(data.get("updated_at")) or queue.updated_at


STAYS = "call stays"  # a drain's batch: every stay of each call its enqueues and dequeues name (queues/batch.py)


def stays_of(queue: Queue, call_control_id: str) -> list[QueuedCall]:
    """Every stay of one call in one queue (a handful), read once: the services pick among them in
    Python rather than with a query each (issue 13). In a drain's batch, the batch's objects (loaded
    with its other calls' stays in one query). Unordered: the model's ordering joins the queue."""
    cached = batch_cache.cached(STAYS, call_control_id)
    if cached is not None:
        return [stay for stay in cached if stay.queue_id == queue.pk]
    return list(QueuedCall.objects.filter(queue=queue, call_control_id=call_control_id).order_by())


def stay_save(stay: QueuedCall) -> None:
    """Write a stay (every column, one prepared statement); in a drain's batch, later events find it among its call's stays."""
    save_row(stay)
    cached = batch_cache.cached(STAYS, stay.call_control_id)
    if cached is not None and all(known is not stay for known in cached):
        cached.append(stay)


def stays_forget(call_control_id: str) -> None:
    """This call's stays changed by a query (not through the batch's objects): later events read them again."""
    cache = batch_cache.rows(STAYS)
    if cache:
        cache.pop(call_control_id, None)


def stays_lock(**lookup) -> None:
    """Lock the stays a command's outcome changes before their queue's row, in the drains' order: a drain's
    batch writes a call's stays as it goes and the queue's row only at its end (webhooks/shared_rows.py),
    so taking the queue first here could deadlock with that batch."""
    list(QueuedCall.objects.select_for_update(no_key=True).filter(**lookup).order_by("pk").values_list("pk", flat=True))


def stay_apply_enqueue_command(queue: Queue, stay: QueuedCall, occurred_at: datetime) -> None:
    """What the portal asked when it enqueued this call (keep_after_hangup, a new queue's max size)."""
    if leg_surely_uncommanded(stay.call_control_id):  # the batch asked about all its enqueued legs at once
        return
    command = (
        Command.objects.filter(action="call.enqueue", target=stay.call_control_id, params__queue_name=queue.name,
                               created_at__lte=occurred_at + timedelta(minutes=1))
        .exclude(status=Command.Status.FAILED)
        .order_by("-created_at")
        .first()
    )
    if command is None:
        return
    stay.keep_after_hangup = bool(command.params.get("keep_after_hangup"))
    if queue.max_size is None and command.params.get("max_size"):
        # Telnyx applies max_size only when the enqueue creates the queue.
        shared_rows.write_later(queue, lambda row: _set_max_size(row, command.params["max_size"]))


def _set_max_size(queue: Queue, max_size: int) -> list[str]:
    if queue.max_size is not None:
        return []
    queue.max_size = max_size
    return ["max_size"]


def stay_fill(stay: QueuedCall, **details: str) -> None:
    """Set details that are known; never blank out what an earlier event or the sync told us."""
    for name, value in details.items():
        if value:
            setattr(stay, name, value[: QueuedCall._meta.get_field(name).max_length])


def stay_close(
    stay: QueuedCall, *, left_at: datetime, reason: str, wait_time_secs: int | None = None, position: int | None = None,
    save: bool = True,
) -> None:
    """End a stay: when, why, and how long it waited (Telnyx's figure if given, else measured)."""
    stay.left_at = left_at
    stay.leave_reason = reason
    stay.wait_time_secs = wait_time_secs if wait_time_secs is not None else max(0, int((left_at - stay.enqueued_at).total_seconds()))
    if position is not None:
        stay.position = position
    if save:
        stay.save(update_fields=["left_at", "leave_reason", "wait_time_secs", "position"])


@dataclass(frozen=True)
class _RenumberFrom:
    """A batch's renumbering of a line, from the earliest place any of its events changed (None: all of it)."""

    since: datetime | None

    def __call__(self, queue: Queue) -> None:
        line_renumber(queue, since=self.since)

    def merge(self, earlier: _RenumberFrom) -> _RenumberFrom:
        return _RenumberFrom(None if None in (self.since, earlier.since) else min(self.since, earlier.since))


def line_renumber_later(queue: Queue, since: datetime | None = None) -> None:
    """Renumber the line once, with the queue's row, at the end of a drain's batch (at once outside one).

    `since`: no stay enqueued before it entered, left or moved (the renumbering starts there).
    """
    shared_rows.write_later(queue, then=_RenumberFrom(since), once="renumber")


def line_renumber(queue: Queue, *, attempt: int = 0, since: datetime | None = None) -> None:
    """Places in line follow arrival order, so they stay right whatever order the events came in.

    One statement, rows whose place changed only: loading the line through `queue.calls` cost a query
    per waiting caller (the related manager reads each row's deferred `queue_id`), the slowest part of
    applying an event once lines grew (issue 13). Run with the queue's row locked. Only stays whose
    place changes are locked; one that another transaction holds (a drain's batch wrote that call's
    stay) is skipped, not waited for: waiting there while holding the queue's row could deadlock with
    that batch's end. If any was skipped, the whole line is renumbered again after this commit
    (`renumber_line`, later each time), until a pass skips none; the queue sync ranks it whole too.

    With `since` (PostgreSQL), only the stays enqueued from then on are ranked, after the place of the
    last one waiting before it, which the previous renumbering set: a caller joining the end of a line
    of hundreds reads two rows, not the whole line (issue 25).
    """
    table = connection.ops.quote_name(QueuedCall._meta.db_table)
    if connection.vendor != "postgresql":  # SQLite: one writer at a time, nothing to skip
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {table} SET position = ranked.place
                    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY enqueued_at, id) AS place
                          FROM {table} WHERE queue_id = %s AND left_at IS NULL) AS ranked
                    WHERE {table}.id = ranked.id AND ({table}.position IS NULL OR {table}.position <> ranked.place)""",
                [queue.pk],
            )
        return
    start = since or LINE_START

    def skipped_again_soon(cursor) -> None:
        skipped, _ = cursor.fetchone()
        if skipped and attempt < RENUMBER_ATTEMPTS:
            transaction.on_commit(lambda: _renumber_soon(queue.pk, attempt + 1))
        elif skipped:
            log.warning("queue %s: %s places in line left to the next sync (stays held %s times)", queue.pk, skipped, attempt)

    # Pipelined in a drain's batch (webhooks/pipeline.py): checked when its answer comes, before the commit.
    execute_deferred(
        connection,
        # Only the stays whose place changes are locked and written: locking the whole line cost a lock
        # (a tuple write and its WAL) per waiting caller on every renumbering, the heaviest statement of
        # a drain's batch once lines were hundreds long (issue 25). `before`: the place of the last stay
        # waiting from before `since`; NULL (never numbered) ranks the whole line.
        f"""WITH prior AS (SELECT position FROM {table} WHERE queue_id = %s AND left_at IS NULL AND enqueued_at < %s
                           ORDER BY enqueued_at DESC, id DESC LIMIT 1),
                 before AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM prior) THEN (SELECT position FROM prior) ELSE 0 END AS n),
                 start AS (SELECT coalesce(n, 0) AS n, CASE WHEN n IS NULL THEN %s ELSE %s END AS at FROM before),
                 stale AS (SELECT id, place FROM (
                               SELECT id, position, (SELECT n FROM start) + ROW_NUMBER() OVER (ORDER BY enqueued_at, id) AS place
                               FROM {table} WHERE queue_id = %s AND left_at IS NULL AND enqueued_at >= (SELECT at FROM start)) AS ranked
                           WHERE position IS DISTINCT FROM place),
                 free AS (SELECT id FROM {table} WHERE id IN (SELECT id FROM stale) AND queue_id = %s AND left_at IS NULL
                          FOR NO KEY UPDATE SKIP LOCKED),
                 renumbered AS (UPDATE {table} SET position = stale.place FROM stale
                                WHERE {table}.id = stale.id AND {table}.id IN (SELECT id FROM free)
                                AND {table}.position IS DISTINCT FROM stale.place RETURNING 1)
            SELECT (SELECT count(*) FROM stale) - (SELECT count(*) FROM free), (SELECT count(*) FROM renumbered)""",
        (queue.pk, start, LINE_START, start, queue.pk, queue.pk),
        skipped_again_soon,
    )


def lines_renumber_still_waiting(queues: list[Queue]) -> None:
    """Renumber those of `queues` whose lines still hold callers, after stays were closed in bulk
    (one query when none does: queries are not per queue)."""
    waiting = set(QueuedCall.objects.filter(queue__in=queues, left_at__isnull=True).values_list("queue_id", flat=True))
    for queue in queues:
        if queue.pk in waiting:
            line_renumber(queue)


def _renumber_soon(queue_pk: int, attempt: int) -> None:
    """The whole line again, later each time (0.2 s doubling to 30 s: about two minutes in all): a place left
    wrong is not mended by the next event, which renumbers only from its own change on."""
    from queues.tasks import renumber_line

    countdown = min(RENUMBER_AGAIN_MAX_SECONDS, RENUMBER_AGAIN_SECONDS * 2 ** (attempt - 1))
    renumber_line.apply_async(args=[queue_pk, attempt], countdown=countdown)
