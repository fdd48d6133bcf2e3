"""Writes to recordings: keep what Telnyx saved, with its links, before they expire."""
from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string

from portal import live
from recordings.models import Recording


def recording_save(
    *, recording_id: str, call_control_id: str = "", call_session_id: str = "", conference_id: str = "",
    format: str = "", channels: str = "", started_at: datetime | None = None, ended_at: datetime | None = None,
    recording_urls: dict | None = None, public_recording_urls: dict | None = None,
) -> Recording:
    """Create or complete the row for a saved recording (a repeat fills nothing twice)."""
    recording, _ = Recording.objects.get_or_create(recording_id=recording_id)
    facts = {
        "call_control_id": call_control_id, "call_session_id": call_session_id, "conference_id": conference_id,
        "format": format, "channels": channels, "started_at": started_at, "ended_at": ended_at,
        "recording_urls": recording_urls or {}, "public_recording_urls": public_recording_urls or {},
    }
    for name, value in facts.items():
        if value and not getattr(recording, name):
            setattr(recording, name, value)
    recording.save()
    live.publish_rendered_once("recordings", _render_list)
    live.publish_admin_changed("recordings", "recording")
    live.publish_dashboard()
    return recording


def _render_list():
    from recordings.selectors import recording_list

    return [("recordings", render_to_string("recordings/_recording_table.html", {"recordings": recording_list(), "oob": True}))]
