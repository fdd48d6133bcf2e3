"""What a batch of webhooks needs of conferences, in one query each (issue 25): the conferences it names,
and which of its legs are on a roster.

Every conference and participant event looked its conference up on its own before, and every
call.initiated / answered / hangup asked the participants about its leg (most legs are in no
conference). Services change a conference through webhooks.shared_rows, which sets the same values
on the batch's object at once, so later events of the batch read what earlier ones wrote; a leg that joins, leaves or is rung in
during the batch is marked, so the roster answer only errs on the side of looking.
"""
from __future__ import annotations

from conferencing.models import Conference, Participant
from webhooks import batch_cache

KIND, ROSTER = "conferences", "roster"
LEG_EVENTS = ("call.initiated", "call.answered", "call.hangup")


def preload_conferences(events) -> None:
    """Load every conference the batch's events name, unlocked: a conference's participants are in every
    partition, so its row is written at the end of the batch (webhooks/shared_rows.py)."""
    batch_cache.preload(KIND, Conference.objects.all(), "conference_id", {e.conference_id for e in events} - {""}, lock=False)


def conference_cached(conference_id: str) -> Conference | None:
    """The batch's object for this conference, if the batch loaded or created it."""
    return batch_cache.cached(KIND, conference_id)


def conference_remember(conference: Conference) -> None:
    """Later events of the batch use this object (no-op outside a batch)."""
    batch_cache.remember(KIND, conference.conference_id, conference)


def preload_rostered_legs(events) -> None:
    """Note which of the batch's legs have a participant row, in one query."""
    ids = {e.call_control_id for e in events if e.event_type in LEG_EVENTS} - {""}
    if ids and batch_cache.rows(ROSTER) is not None:
        listed = Participant.objects.filter(call_control_id__in=ids).values_list("call_control_id", flat=True)
        batch_cache.note_present(ROSTER, ids, listed)


def leg_rostered(call_control_id: str) -> None:
    """A participant row of this leg was written in the batch."""
    batch_cache.mark_present(ROSTER, call_control_id)


def surely_not_rostered(call_control_id: str) -> bool:
    """True if the batch knows this leg is on no roster (no query needed)."""
    return batch_cache.surely_absent(ROSTER, call_control_id)
