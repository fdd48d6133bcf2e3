"""How the conference commands read on pages (issue 31): their panels, fields and labels, and what each did in words."""
from __future__ import annotations

from calls.words import leg_label, quoted
from conferencing.models import Conference, Participant
from portal.commands.words import remembered

# The conference page's panels (issue 31): the most used controls open, End apart from the rest.
FORM_GROUPS = (
    ("participants", "Participants", True), ("audio", "Play, speak, digits", False),
    ("recording", "Recording", False), ("people", "Bring in, roles, remove", False), ("end", "End", True),
)
GROUP_OF = {
    "mute": "participants", "unmute": "participants", "hold": "participants", "unhold": "participants",
    "play": "audio", "stop": "audio", "speak": "audio", "send_dtmf": "audio", "gather_using_audio": "audio",
    "record_start": "recording", "record_pause": "recording", "record_resume": "recording", "record_stop": "recording",
    "join": "people", "dial_in": "people", "update": "people", "update_participant": "people", "leave": "people",
    "end": "end",
}
# The fields a person came for, first in each form (the rest go under "More options").
FIELDS = {
    "mute": ("call_control_ids",), "unmute": ("call_control_ids",), "hold": ("call_control_ids", "audio_url"),
    "unhold": ("call_control_ids",), "stop": ("call_control_ids",),
    "play": ("audio_url", "media_name", "call_control_ids", "loop"),
    "speak": ("payload", "voice", "call_control_ids"), "send_dtmf": ("digits", "call_control_ids"),
    "gather_using_audio": ("call_control_id", "audio_url", "maximum_digits", "valid_digits"),
    "record_start": ("format", "channels", "play_beep"),
    "update": ("call_control_id", "supervisor_role", "whisper_call_control_ids"),
    "dial_in": ("to", "supervisor_role", "whisper_call_control_ids", "mute"),
    "leave": ("call_control_id",),
}


def conference_label(conference_id: str) -> str:
    def look_up() -> str:
        conference = Conference.objects.filter(conference_id=conference_id).only("name").first()
        return (conference.name if conference else "") or f"conference {conference_id[:12]}"

    return remembered(("conference", conference_id), look_up)


def _who(command, ids) -> str:
    """Participants by their label (caller number or SIP name), else by the calls app's leg label."""
    labels = remembered(("participants", command.target, tuple(ids)), lambda: dict(
        Participant.objects.filter(conference__conference_id=command.target, call_control_id__in=ids)
        .exclude(label="").values_list("call_control_id", "label")
    ))
    return ", ".join(labels.get(i) or leg_label(i) for i in ids)


def to_participants(verb: str):
    """describe(): "Muted everyone in Support" or "Muted +1 555 0123 in Support"."""

    def describe(command):
        ids = command.params.get("call_control_ids") or []
        who = _who(command, ids) if ids else "everyone"
        return f"{verb} {who} in {conference_label(command.target)}"

    return describe


def to_one(verb: str, key: str = "call_control_id", tail: str = "in"):
    def describe(command):
        who = _who(command, [command.params.get(key, "")])
        return f"{verb} {who} {tail} {conference_label(command.target)}"

    return describe


def on_conference(verb: str):
    def describe(command):
        return f"{verb} {conference_label(command.target)}"

    return describe


def role_set(command) -> str:
    p = command.params
    words = f"Set {_who(command, [p.get('call_control_id', '')])} to {p.get('supervisor_role', '')}"
    heard = p.get("whisper_call_control_ids") or []
    if heard:
        words += f" (hears: {_who(command, heard)})"
    return words


def spoke(command) -> str:
    return f"Spoke {quoted(command.params.get('payload'))} in {conference_label(command.target)}"


def rang_in(command) -> str:
    return f"Rang {command.params.get('to', '')} into {conference_label(command.target)}"


DESCRIBE = {
    "end": on_conference("Ended"),
    "mute": to_participants("Muted"),
    "unmute": to_participants("Unmuted"),
    "hold": to_participants("Put on hold:"),
    "unhold": to_participants("Took off hold:"),
    "stop": to_participants("Stopped audio for"),
    "play": to_participants("Played audio to"),
    "send_dtmf": to_participants("Sent digits to"),
    "speak": spoke,
    "gather_using_audio": to_one("Asked for digits from"),
    "leave": to_one("Removed", tail="from"),
    "update": role_set,
    "update_participant": to_one("Changed settings of", key="participant_id"),
    "record_start": on_conference("Started recording"),
    "record_pause": on_conference("Paused recording"),
    "record_resume": on_conference("Resumed recording"),
    "record_stop": on_conference("Stopped recording"),
    "dial_in": rang_in,
}


def dress(short: str, options: dict) -> None:
    """Give a conference action's declaration its panel, form fields and words (unless it names its own)."""
    options.setdefault("group", GROUP_OF.get(short, ""))
    options.setdefault("describe", DESCRIBE.get(short))
    if short in FIELDS:
        options.setdefault("fields", FIELDS[short])
