"""The recordings a batch of webhooks names, loaded in one query (issue 25).

Each recording event looked its row up by id on its own, and each call.recording.saved without Telnyx's id
(the SDK's carries none) also searched the named rows of its call (naming.find_named): two SELECTs per
event, the second one of the slowest a drain ran. The batch loads, in one locked query, the rows its
events name by id and the named rows of the calls its provisional events belong to; the services read
them here, and remember the rows they create or rename, so later events of the batch see them.

Locked in id order: a download (another worker) saves the same rows, and waits for the batch rather than
being overwritten by the batch's save of its object.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q

from recordings.models import Recording
from webhooks import batch_cache
from webhooks.payloads import text

KIND, NAMED = "recordings", "named recordings"
NAMED_WINDOW = timedelta(seconds=2)  # a provisional event and the named row of the same recording start this close
SAVED_EVENTS = ("call.recording.saved", "conference.recording.saved")
CALL_IDS = ("call_session_id", "call_leg_id", "call_control_id")


def event_recording_id(event) -> str:
    """The id a recording event's row goes by: Telnyx's, else the stand-in its handler gives it."""
    if event.event_type == "call.recording.error":
        return event.event_id
    recording_id = text(event.payload, "recording_id")
    if recording_id or event.event_type == "call.recording.transcription.saved":
        return recording_id
    if event.event_type == "call.recording.saved":
        return event.event_id  # until Telnyx's list names it
    conference_id = text(event.payload, "conference_id")
    return f"{conference_id}.{event.occurred_at.isoformat() if event.occurred_at else ''}"


def preload_recordings(events) -> None:
    """The rows the batch's recording events name, and the named rows their provisional ones may match."""
    ids = {event_recording_id(e) for e in events if e.event_type in (*SAVED_EVENTS, "call.recording.error",
                                                                         "call.recording.transcription.saved")} - {""}
    cache = batch_cache.rows(KIND)
    if cache is None or not ids:
        return
    calls = {name: set() for name in CALL_IDS}
    for e in events:
        if e.event_type in SAVED_EVENTS and not text(e.payload, "recording_id"):
            for name in CALL_IDS:
                calls[name].add(text(e.payload, name))
    calls = {name: values - {""} for name, values in calls.items()}
    wanted = Q(recording_id__in=ids)
    for name, values in calls.items():
        if values:
            wanted |= Q(provisional_id=False, **{f"{name}__in": values})
    found = Recording.objects.filter(wanted).order_by("pk")
    if connection.in_atomic_block:
        found = found.select_for_update()
    cache.update(dict.fromkeys(ids))
    loaded = list(found)
    cache.update((row.recording_id, row) for row in loaded)
    batch_cache.rows(NAMED).update(asked=calls, rows=loaded)


def recording_by_id(recording_id: str, *, lock: bool = False) -> Recording | None:
    """The row with this id: the batch's object (locked already), else one query; None if there is none."""
    found = batch_cache.cached(KIND, recording_id)
    if found is not None or batch_cache.known_absent(KIND, recording_id):
        return found
    rows = Recording.objects.select_for_update() if lock else Recording.objects.all()
    return rows.filter(recording_id=recording_id).first()


def recording_remember(recording: Recording, *, was: str = "") -> None:
    """A row the batch created, saved or renamed (from `was`): later events of the batch find it."""
    cache = batch_cache.rows(KIND)
    if cache is None:
        return
    old = cache.get(was) if was and was != recording.recording_id else None
    if old is not None and old.pk == recording.pk:  # the batch's object of the row renamed (perhaps another one)
        cache[was] = None
    cache[recording.recording_id] = recording
    named = batch_cache.rows(NAMED).get("rows")
    if named is not None:
        named[:] = [row for row in named if row.pk != recording.pk or row is recording]  # one object per row
        if all(row is not recording for row in named):
            named.append(recording)


def recording_forget(recording_id: str) -> None:
    """That row is gone (folded into another): later events of the batch see it gone."""
    cache = batch_cache.rows(KIND)
    if cache is not None and recording_id in cache:
        cache[recording_id] = None


def named_in_batch(ids: dict[str, str], started_at: datetime):
    """find_named from the batch's rows, if the batch loaded every named row of this call: (True, row or None);
    (False, None) if it did not, and a query must answer."""
    named = batch_cache.rows(NAMED)
    asked = named.get("asked") if named else None
    if asked is None or any(value and value not in asked[name] for name, value in ids.items()):
        return False, None
    matches = [
        row for row in named["rows"]
        if not row.provisional_id and row.started_at and abs(row.started_at - started_at) <= NAMED_WINDOW
        and any(value and getattr(row, name) == value for name, value in ids.items())
    ]
    # As the query's first(): the model's ordering, newest saved first, a row never saved (NULL) before all.
    return True, max(matches, key=lambda row: (row.saved_at is None, row.saved_at or datetime.min, row.pk), default=None)
