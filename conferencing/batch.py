"""The conferences a batch of webhooks names: loaded (and locked) in one query, shared by its handlers (issue 25).

Every conference and participant event looked its conference up on its own before. Services that
change a conference with an UPDATE statement set the same values on the object, so the batch's
object stays what the database holds.
"""
from __future__ import annotations

from django.db import connection

from conferencing.models import Conference
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
