"""The conferences a batch of webhooks names: loaded (and locked) in one query, shared by its handlers (issue 25).

Every conference and participant event looked its conference up on its own before. Services that
change a conference with an UPDATE statement set the same values on the object, so the batch's
object stays what the database holds.
"""
from __future__ import annotations

from django.db import connection

from conferencing.models import Conference, Participant
from webhooks import batch_cache

KIND = "conferences"


def preload_conferences(events) -> None:
    """Load every conference the batch's events name, locked in id order inside a transaction (as lock_conferences)."""
    cache = batch_cache.rows(KIND)
    ids = {e.conference_id for e in events} - {""}
    if cache is None or not ids:
        return
    conferences = Conference.objects.filter(conference_id__in=ids).order_by("pk")
    if connection.in_atomic_block:
        conferences = conferences.select_for_update()
    cache.update((conference.conference_id, conference) for conference in conferences)


def conference_cached(conference_id: str) -> Conference | None:
    """The batch's object for this conference, if the batch loaded or created it."""
    cache = batch_cache.rows(KIND)
    return cache.get(conference_id) if cache else None


def conference_remember(conference: Conference) -> None:
    """Later events of the batch use this object (no-op outside a batch)."""
    cache = batch_cache.rows(KIND)
    if cache is not None:
        cache[conference.conference_id] = conference


# Which of a batch's legs are on some conference's roster: call.initiated / answered / hangup asked
# the participants one leg at a time (most legs are in no conference). A leg that joins, leaves or is
# rung in during the batch is added, so the answer only errs on the side of looking.
ROSTER, ASKED, LISTED = "roster", "asked", "listed"
LEG_EVENTS = ("call.initiated", "call.answered", "call.hangup")


def preload_rostered_legs(events) -> None:
    """Note which of the batch's legs have a participant row, in one query."""
    cache = batch_cache.rows(ROSTER)
    ids = {e.call_control_id for e in events if e.event_type in LEG_EVENTS} - {""}
    if cache is None or not ids:
        return
    cache[ASKED] = ids
    cache[LISTED] = set(Participant.objects.filter(call_control_id__in=ids).values_list("call_control_id", flat=True))


def leg_rostered(call_control_id: str) -> None:
    """A participant row of this leg was written in the batch."""
    cache = batch_cache.rows(ROSTER)
    if cache and LISTED in cache:
        cache[LISTED].add(call_control_id)


def surely_not_rostered(call_control_id: str) -> bool:
    """True if the batch knows this leg is on no roster (no query needed)."""
    cache = batch_cache.rows(ROSTER)
    return bool(cache) and call_control_id in cache.get(ASKED, ()) and call_control_id not in cache[LISTED]
