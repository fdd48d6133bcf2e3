"""Redacting stored events: a deleted recording's words and links leave the events that carried them (issue 24).

The stored body is then no longer the one Telnyx signed; that is the point of deleting. The event's type,
ids and times stay, so the timeline still says that a recording or transcript was saved.
"""
from __future__ import annotations

import json

from django.db.models import Q

from webhooks.models import WebhookEvent

REDACTED = "(redacted: recording deleted)"
# What a recording's events carry of the recording itself (events.md).
RECORDING_CONTENT_KEYS = ("transcription_text", "recording_urls", "public_recording_urls", "download_urls")
RECORDING_EVENT_TYPES = ("call.recording.saved", "conference.recording.saved", "call.recording.transcription.saved")


def _redact(payload):
    if isinstance(payload, dict):
        return {k: (REDACTED if k in RECORDING_CONTENT_KEYS and v not in (None, "", {}, []) else _redact(v))
                for k, v in payload.items()}
    if isinstance(payload, list):
        return [_redact(v) for v in payload]
    return payload


def _redact_body(raw_body: str) -> str:
    try:
        document = json.loads(raw_body)
    except ValueError:
        return REDACTED
    return json.dumps(_redact(document), separators=(",", ":"))


def events_redact_recording(*, recording_id: str, call_session_id: str = "") -> int:
    """Remove transcript text and recording links from every stored event of this recording; returns how many.

    call.recording.saved names no recording_id, so its events are found by the call session (a session's
    other recordings lose their expired links too, never their words: only this recording's transcripts).
    """
    found = Q(recording_id=recording_id) if recording_id else Q(pk__in=[])
    if call_session_id:
        found |= Q(event_type="call.recording.saved", call_session_id=call_session_id)
    changed = []
    for event in WebhookEvent.objects.filter(found, event_type__in=RECORDING_EVENT_TYPES).only("id", "payload", "raw_body"):
        payload, body = _redact(event.payload), _redact_body(event.raw_body)
        if payload != event.payload or body != event.raw_body:
            event.payload, event.raw_body = payload, body
            changed.append(event)
    WebhookEvent.objects.bulk_update(changed, ["payload", "raw_body"], batch_size=200)
    return len(changed)
