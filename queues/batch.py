"""The queues a batch of webhooks names, and which of its calls may be waiting in one: one query each (issue 25).

Every call.hangup asked the queue stays whether its call waited in line (most never did): one SELECT
per hangup. The batch asks once for all its calls; a call that enters or leaves a queue during the
batch is marked, so the answer only errs on the side of looking.
"""
from __future__ import annotations

from django.db import connection

from queues.models import Queue, QueuedCall
from queues.rows import KIND as QUEUES
from queues.rows import STAYS
from webhooks import batch_cache
from webhooks.payloads import text

KIND = "queue_stays"


def preload_queues(events) -> None:
    """Load every queue the batch names, unlocked: a queue's callers are in every partition, so its row
    is written at the end of the batch (webhooks/shared_rows.py)."""
    names = {text(e.payload, "queue") for e in events if e.event_type in ("call.enqueued", "call.dequeued")} - {""}
    batch_cache.preload(QUEUES, Queue, "name", names, lock=False)


def preload_stays(events) -> None:
    """Every stay of the calls the batch's call.enqueued / call.dequeued name, in one query (each event read
    its call's stays on its own). Locked: a command that removes a caller waits for the batch (rows.stays_lock)
    rather than being overwritten by a save of the batch's object. Only the call's partition writes them."""
    ids = {e.call_control_id for e in events if e.event_type in ("call.enqueued", "call.dequeued")} - {""}
    cache = batch_cache.rows(STAYS)
    if cache is None or not ids:
        return
    found = QueuedCall.objects.filter(call_control_id__in=ids).order_by("pk")
    if connection.in_atomic_block:
        found = found.select_for_update(no_key=True)
    cache.update((call_control_id, []) for call_control_id in ids)
    for stay in found:
        cache[stay.call_control_id].append(stay)


def preload_waiting_calls(events) -> None:
    """Note which of the batch's hung-up calls have an open, alive stay somewhere."""
    ids = {e.call_control_id for e in events if e.event_type == "call.hangup"} - {""}
    if ids and batch_cache.rows(KIND) is not None:
        waiting = QueuedCall.objects.filter(call_control_id__in=ids, left_at__isnull=True, is_alive=True).order_by()
        batch_cache.note_present(KIND, ids, waiting.values_list("call_control_id", flat=True))


def stays_touched(call_control_id: str) -> None:
    """A stay of this call was written in the batch: its hangup looks at the stays again."""
    batch_cache.mark_present(KIND, call_control_id)


def surely_not_waiting(call_control_id: str) -> bool:
    """True if the batch knows this call has no open, alive stay (no query needed)."""
    return batch_cache.surely_absent(KIND, call_control_id)
