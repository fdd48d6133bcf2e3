"""Telnyx's id for a recording announced without one: find the named row, fill blanks, fold a provisional row in."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from recordings.batch import named_in_batch, recording_by_id, recording_forget, recording_remember
from recordings.live import publish_recording
from recordings.models import Recording


def fill_blanks(recording: Recording, **facts) -> None:
    """Set the facts the row does not know yet; never overwrite what an earlier event or the sync told us."""
    for name, value in facts.items():
        if value not in (None, "") and not getattr(recording, name):
            setattr(recording, name, value)


def find_named(call_session_id: str, call_leg_id: str, call_control_id: str, started_at: datetime | None):
    """A row already carrying Telnyx's id for the recording a provisional event describes."""
    if not started_at or not (call_session_id or call_leg_id or call_control_id):
        return None
    complete, row = named_in_batch(
        {"call_session_id": call_session_id, "call_leg_id": call_leg_id, "call_control_id": call_control_id}, started_at
    )
    if complete:  # a drain's batch loaded every named row of this call
        return row
    same_call = Q()
    for name, value in (("call_session_id", call_session_id), ("call_leg_id", call_leg_id), ("call_control_id", call_control_id)):
        if value:
            same_call |= Q(**{name: value})
    window = timedelta(seconds=2)
    return (
        Recording.objects.filter(same_call, provisional_id=False, started_at__range=(started_at - window, started_at + window))
        .first()
    )


def adopt(provisional: Recording, data: dict, *, downloading: bool = False) -> Recording | None:
    """Give a provisional row Telnyx's id, or fold it into the row that already has that id."""
    with transaction.atomic():
        existing = recording_by_id(data["id"], lock=True)
        if existing is None:
            was, provisional.recording_id = provisional.recording_id, data["id"]
            provisional.provisional_id = False
            provisional.save(update_fields=["recording_id", "provisional_id"])
            recording_remember(provisional, was=was)
            return provisional
        fill_blanks(existing, **{f: getattr(provisional, f) for f in (
            "call_control_id", "call_leg_id", "call_session_id", "conference_id", "connection_id", "format", "channels",
            "started_at", "ended_at",
        )})
        if provisional.recording_urls and not existing.is_playable:
            existing.recording_urls = provisional.recording_urls
            existing.public_recording_urls = provisional.public_recording_urls
            existing.urls_received_at = provisional.urls_received_at
        provisional.transcriptions.update(recording=existing)
        take_over = downloading and existing.status in (Recording.Status.SAVED, Recording.Status.FAILED)
        if take_over:
            existing.status = Recording.Status.DOWNLOADING
            existing.download_attempts = max(existing.download_attempts, provisional.download_attempts)
            existing.last_attempt_at = provisional.last_attempt_at
        existing.save()
        recording_forget(provisional.recording_id)
        provisional.delete()
        recording_remember(existing)
    publish_recording(existing)
    if downloading and not take_over:
        return None  # the named row is stored, being downloaded, or deleted already
    return existing
