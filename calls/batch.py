"""The call legs a batch of webhooks names: loaded (and locked) in one query, shared by its handlers (issue 25).

Before, each event looked its leg up on its own (one SELECT per event, ~1.8 of the ~4.3 statements an
event cost). Legs created during the batch are remembered too, so later events of the batch find them.
"""
from __future__ import annotations

from django.db import connection
from django.db.models import Q

from calls.models import Call
from portal.models import Command
from webhooks import batch_cache

KIND = "calls"


def preload_calls(events) -> None:
    """Load every leg the batch's events name by call_control_id, locked in id order inside a transaction."""
    batch_cache.preload(KIND, Call, "call_control_id", {e.call_control_id for e in events} - {""})


def call_cached(call_control_id: str) -> Call | None:
    """The batch's object for this leg, if the batch loaded or created it."""
    return batch_cache.cached(KIND, call_control_id)


def call_surely_absent(call_control_id: str) -> bool:
    """True if the batch looked for this leg and it was not there (nor created since): no query needed."""
    return batch_cache.known_absent(KIND, call_control_id)


def call_create_new(call_control_id: str, defaults: dict) -> tuple[Call, bool]:
    """get_or_create, without its SELECT and savepoint for a leg the batch found missing (batch_cache.get_or_insert).

    The batch saw no such row; if another process (a dial's answer, calls/links.py) inserted it since,
    the INSERT fails and the drain applies the batch again event by event, where get_or_create finds it.
    """
    return batch_cache.get_or_insert(KIND, call_control_id, Call, {"call_control_id": call_control_id}, defaults)


def call_by_control_id(call_control_id: str) -> Call | None:
    """The leg with this control id: the batch's object, else one query; None if unknown."""
    call = call_cached(call_control_id)
    if call is None:
        call = Call.objects.filter(call_control_id=call_control_id).first()
        if call is not None:
            batch_cache.remember(KIND, call_control_id, call)
    return call


# Legs a portal command names (a bridge, an enqueue): their events look the command up for what it asked.
COMMANDED, COMMANDED_EVENTS = "commanded legs", {"call.bridged": "call.bridge", "call.enqueued": "call.enqueue"}


def preload_commanded_legs(events) -> None:
    """Note which of the batch's bridged and enqueued legs a portal command names, in one query.

    Most legs were bridged or queued by a call flow, not from the portal: each such event looked for a
    command and found none (a query per event, with a JSON lookup for the bridge's other leg). A command
    is stored before Telnyx is asked, so before the events it causes: the batch's answer is not stale.
    """
    ids = {e.call_control_id for e in events if e.event_type in COMMANDED_EVENTS} - {""}
    if not ids or batch_cache.rows(COMMANDED) is None:
        return
    named = Command.objects.filter(action__in=set(COMMANDED_EVENTS.values())).filter(
        Q(target__in=ids) | Q(params__call_control_id__in=sorted(ids))
    )
    present = set()
    for target, other in named.values_list("target", "params__call_control_id"):
        present.update(leg for leg in (target, other) if isinstance(leg, str))
    batch_cache.note_present(COMMANDED, ids, present & ids)


def leg_surely_uncommanded(call_control_id: str) -> bool:
    """True if the batch knows no bridge or enqueue command names this leg (no query needed)."""
    return batch_cache.surely_absent(COMMANDED, call_control_id)


SESSIONS = "bridged sessions"


def preload_bridged_sessions(events) -> None:
    """Every leg of the sessions the batch's call.bridged events belong to, with the batch's legs (after
    preload_calls), locked alike: a bridge finds its partner among them (links._bridge_partner) instead
    of one query per event. A session's legs are all in its partition (webhooks/store.partition_of)."""
    sessions = {e.call_session_id for e in events if e.event_type == "call.bridged"} - {""}
    asked, calls = batch_cache.rows(SESSIONS), batch_cache.rows(KIND)
    if asked is None or calls is None or not sessions:
        return
    found = Call.objects.filter(call_session_id__in=sessions).exclude(call_control_id__in=[k for k, v in calls.items() if v])
    if connection.in_atomic_block:
        found = found.select_for_update()
    for leg in found.order_by("pk"):
        calls[leg.call_control_id] = leg
    asked.update(dict.fromkeys(sessions, True))


def session_legs(call_session_id: str) -> list[Call] | None:
    """The legs of a session the batch loaded them all for (and every leg the batch has of it since); None if
    it did not."""
    asked, calls = batch_cache.rows(SESSIONS), batch_cache.rows(KIND)
    if not asked or call_session_id not in asked:
        return None
    return [leg for leg in calls.values() if leg is not None and leg.call_session_id == call_session_id]
