"""Recording and transcript rows from webhooks: created or completed, named, and their capture queued."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from calls.models import Call
from recordings.batch import KIND, recording_by_id, recording_remember
from recordings.capture import queue_download_on_commit
from recordings.live import publish_recording
from recordings.models import Recording, Transcription
from recordings.naming import adopt, fill_blanks, find_named
from webhooks import batch_cache


def recording_save(
    *, recording_id: str, call_control_id: str = "", call_session_id: str = "", conference_id: str = "",
    format: str = "", channels: str = "", started_at: datetime | None = None, ended_at: datetime | None = None,
    recording_urls: dict | None = None, public_recording_urls: dict | None = None, call_leg_id: str = "",
    connection_id: str = "", provisional_id: bool = False,
) -> Recording:
    """*.recording.saved: create or complete the row, keep the fresh links and capture the audio at once."""
    recording = recording_by_id(recording_id)  # a drain's batch loaded it (recordings/batch.py)
    if recording is None and provisional_id:
        # The transcription or a sync may have named it already: same session, same start.
        recording = find_named(call_session_id, call_leg_id, call_control_id, started_at)
    created = recording is None
    if created:
        recording = Recording(recording_id=recording_id, provisional_id=provisional_id)
    call_control_id = call_control_id or _call_control_id_of_leg(call_leg_id)
    fill_blanks(recording, call_control_id=call_control_id, call_session_id=call_session_id, conference_id=conference_id,
          format=format, channels=channels, started_at=started_at, ended_at=ended_at, call_leg_id=call_leg_id,
          connection_id=connection_id)
    if recording_urls and recording.status != Recording.Status.DELETED:
        recording.recording_urls = recording_urls
        recording.public_recording_urls = public_recording_urls or recording.public_recording_urls
        recording.urls_received_at = timezone.now()
    recording.save()
    recording_remember(recording)
    if recording.status in (Recording.Status.SAVED, Recording.Status.FAILED) and not recording.telnyx_error:
        queue_download_on_commit(recording.pk)
    publish_recording(recording, new=created)
    return recording


def recording_error(*, event_id: str, call_control_id: str = "", call_session_id: str = "", call_leg_id: str = "",
                    reason: str = "", occurred_at: datetime | None = None) -> Recording:
    """call.recording.error: the recording attempt failed at Telnyx; listed as failed with Telnyx's reason."""
    recording, created = batch_cache.get_or_insert(  # a drain's batch looked for it already: no SELECT, no savepoint
        KIND, event_id, Recording, {"recording_id": event_id},
        {
            "call_control_id": call_control_id, "call_session_id": call_session_id, "call_leg_id": call_leg_id,
            "status": Recording.Status.FAILED, "telnyx_error": (reason or "unknown")[:255],
            "last_error": f"Telnyx could not record: {reason or 'no reason given'}.",
            "recorded_at": occurred_at or timezone.now(),
        },
    )
    recording_remember(recording)
    publish_recording(recording, new=created)
    return recording


def transcription_save(
    *, transcription_id: str, recording_id: str, text: str = "", status: str = "", call_control_id: str = "",
    call_session_id: str = "", language: str = "", speakers: list | None = None, segments: list | None = None,
    duration_millis: int | None = None, created_at: datetime | None = None, updated_at: datetime | None = None,
) -> Transcription:
    """A transcript from Telnyx, attached to its recording (a row is made for a recording not seen yet)."""
    recording = _recording_for_transcript(recording_id, call_session_id, call_control_id)
    transcription = Transcription.objects.filter(transcription_id=transcription_id).first() or Transcription(
        transcription_id=transcription_id
    )
    if transcription.updated_at and updated_at and updated_at < transcription.updated_at:
        return transcription  # an older copy of a transcript already applied
    transcription.recording = recording
    values = {
        "text": text, "status": status, "call_control_id": call_control_id, "call_session_id": call_session_id,
        "language": language, "speakers": speakers, "segments": segments, "duration_millis": duration_millis,
        "created_at": created_at, "updated_at": updated_at,
    }
    for name, value in values.items():
        if value not in (None, "", []):
            setattr(transcription, name, value)
    transcription.save()
    publish_recording(recording)
    return transcription


def _recording_for_transcript(recording_id: str, call_session_id: str, call_control_id: str) -> Recording:
    recording = recording_by_id(recording_id)
    if recording is not None:
        return recording
    provisional = (
        Recording.objects.filter(provisional_id=True, telnyx_error="")
        .filter(Q(call_session_id=call_session_id) if call_session_id else Q(call_control_id=call_control_id))
        .exclude(call_session_id="", call_control_id="")
        .order_by("-recorded_at")
        .first()
    )
    if provisional is not None:
        return adopt(provisional, {"id": recording_id})
    recording = Recording.objects.create(
        recording_id=recording_id, call_control_id=call_control_id, call_session_id=call_session_id
    )
    recording_remember(recording)
    queue_download_on_commit(recording.pk)  # the download asks Telnyx for its links
    publish_recording(recording, new=True)
    return recording


def _call_control_id_of_leg(call_leg_id: str) -> str:
    """call.recording.saved names the leg, not the call_control_id: find it from the call the portal knows."""
    if not call_leg_id:
        return ""
    return Call.objects.filter(call_leg_id=call_leg_id).values_list("call_control_id", flat=True).first() or ""
