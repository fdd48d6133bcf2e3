"""Recording webhooks (calls' and conferences') → Recording and Transcription rows; the recordings app owns them."""
from recordings import services
from recordings.batch import event_recording_id, preload_recordings
from webhooks.payloads import number, text, when


def _urls(payload, key) -> dict:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def _recording_saved(event, *, conference_id: str = "") -> None:
    """*.recording.saved, from a call or a conference: the row created or completed, its capture queued."""
    p = event.payload
    services.recording_save(
        recording_id=event_recording_id(event), provisional_id=not text(p, "recording_id"), conference_id=conference_id,
        call_control_id=text(p, "call_control_id"), call_session_id=text(p, "call_session_id"),
        call_leg_id=text(p, "call_leg_id"), connection_id=text(p, "connection_id"),
        format=text(p, "format", 8), channels=text(p, "channels", 8),
        started_at=when(p.get("recording_started_at")), ended_at=when(p.get("recording_ended_at")),
        recording_urls=_urls(p, "recording_urls"), public_recording_urls=_urls(p, "public_recording_urls"),
    )


def on_call_recording_saved(event):
    # The SDK's call.recording.saved carries no recording_id: the event id stands in until Telnyx's list names it.
    _recording_saved(event)


def on_conference_recording_saved(event):
    # Without a recording_id, the conference and the moment stand in until Telnyx's list names it.
    _recording_saved(event, conference_id=text(event.payload, "conference_id"))


def on_call_recording_error(event):
    p = event.payload
    services.recording_error(
        event_id=event.event_id, call_control_id=text(p, "call_control_id"), call_session_id=text(p, "call_session_id"),
        call_leg_id=text(p, "call_leg_id"), reason=text(p, "reason"), occurred_at=event.occurred_at,
    )


def on_transcription_saved(event):
    p = event.payload
    transcription_id = text(p, "recording_transcription_id") or event.event_id
    speakers = p.get("speakers")
    segments = p.get("segments")
    services.transcription_save(
        transcription_id=transcription_id, recording_id=text(p, "recording_id"),
        text=p.get("transcription_text") if isinstance(p.get("transcription_text"), str) else "",
        status=text(p, "status", 32), call_control_id=text(p, "call_control_id"),
        call_session_id=text(p, "call_session_id"),
        language=text(p, "language", 32) or text(p, "transcription_language", 32),
        speakers=speakers if isinstance(speakers, list) else None,
        segments=segments if isinstance(segments, list) else None,
        duration_millis=number(p, "duration_millis"), updated_at=event.occurred_at,
    )


BATCH_PRELOADS = [preload_recordings]

HANDLERS = {
    "call.recording.saved": on_call_recording_saved,
    "conference.recording.saved": on_conference_recording_saved,  # conferencing applies it too (recording state)
    "call.recording.error": on_call_recording_error,
    "call.recording.transcription.saved": on_transcription_saved,
}
