"""Telnyx's event types as a person says them, for timelines (issue 31): "Joined" rather than "participant.joined"."""
from __future__ import annotations

EVENT_WORDS = {
    "call.initiated": "Call started",
    "call.answered": "Answered",
    "call.bridged": "Bridged",
    "call.hangup": "Hung up",
    "call.enqueued": "Entered a queue",
    "call.dequeued": "Left the queue",
    "call.dtmf.received": "Digit pressed",
    "call.recording.saved": "Recording saved",
    "call.recording.error": "Recording failed",
    "call.playback.started": "Audio started",
    "call.playback.ended": "Audio ended",
    "call.speak.started": "Speaking started",
    "call.speak.ended": "Speaking ended",
    "call.transcription": "Transcript",
    "conference.created": "Conference started",
    "conference.ended": "Conference ended",
    "conference.floor.changed": "Speaker changed",
    "conference.participant.joined": "Joined",
    "conference.participant.left": "Left",
    "conference.recording.saved": "Recording saved",
    "conference.participant.playback.started": "Audio started for a participant",
    "conference.participant.playback.ended": "Audio ended for a participant",
    "conference.participant.speak.started": "Speaking started to a participant",
    "conference.participant.speak.ended": "Speaking ended to a participant",
    "conference.playback.started": "Audio started",
    "conference.playback.ended": "Audio ended",
    "conference.speak.started": "Speaking started",
    "conference.speak.ended": "Speaking ended",
}


def event_words(event_type: str) -> str:
    """An event type in words: from the table, else its own name made readable ("Machine detection ended")."""
    if event_type in EVENT_WORDS:
        return EVENT_WORDS[event_type]
    words = event_type.split(".", 1)[-1].replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else event_type
