"""call.recording.saved → a recording row (conference recordings come through conferencing)."""
from recordings.services import recording_save
from webhooks.payloads import text, when


def on_call_recording_saved(event):
    p = event.payload
    recording_save(
        # The call variant carries no recording_id in the SDK's type; the event id is unique per recording.
        recording_id=text(p, "recording_id") or event.event_id,
        call_control_id=text(p, "call_control_id"), call_session_id=text(p, "call_session_id"),
        format=text(p, "format", 8), channels=text(p, "channels", 8),
        started_at=when(p.get("recording_started_at")), ended_at=when(p.get("recording_ended_at")),
        recording_urls=p.get("recording_urls") if isinstance(p.get("recording_urls"), dict) else {},
        public_recording_urls=p.get("public_recording_urls") if isinstance(p.get("public_recording_urls"), dict) else {},
    )


HANDLERS = {"call.recording.saved": on_call_recording_saved}
