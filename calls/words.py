"""How the call commands read on pages (issue 31): their panels and fields, and what each did in words."""
from __future__ import annotations

from calls.models import Call
from portal.commands.words import remembered

# Panels of controls on the call page, in this order (each action's `group` says where it goes): the most
# used open, the rest folded.
FORM_GROUPS = (
    ("call", "Call", True), ("media", "Media", True), ("recording", "Recording", True),
    ("streaming", "Streaming", False), ("transcription", "Transcription", False), ("advanced", "Advanced", False),
    ("queue", "Queue", False), ("conference", "Conference", False),
)
# The fields a person came for, first in each form (the rest go under "More options").
FIELDS = {
    "playback_start": ("audio_url", "media_name", "loop"),
    "speak": ("payload", "voice", "language"),
    "send_dtmf": ("digits",),
    "record_start": ("format", "channels", "play_beep"),
    "enqueue": ("queue_name",),
    "join_conference": ("conference_id", "supervisor_role", "mute"),
}


def leg_label(call_control_id: str) -> str:
    """A leg as a person knows it: the caller's number (or SIP name), else a short id."""
    return remembered(("leg", call_control_id), lambda: _leg_label(call_control_id))


def _leg_label(call_control_id: str) -> str:
    call = Call.objects.filter(call_control_id=call_control_id).only("from_number", "to_number", "direction").first()
    if call is None:
        return f"call {call_control_id[:12]}…" if len(call_control_id) > 12 else f"call {call_control_id}"
    number = call.to_number if call.direction == "outgoing" else call.from_number
    return number or call.from_number or call.to_number or f"call {call_control_id[:12]}"


def legs_label(call_control_ids) -> str:
    return ", ".join(leg_label(c) for c in call_control_ids)


def _queue_of(command) -> str:
    call = Call.objects.filter(call_control_id=command.target).first()
    return (call.was_in_queue if call else "") or "its queue"


def says(template: str):
    """describe(command) filling `template` with {who} (the target leg) and the command's parameters."""

    def describe(command):
        return template.format_map({**command.params, "who": leg_label(command.target)})

    return describe


def took_out_of_queue(command) -> str:
    return f"Took {leg_label(command.target)} out of {_queue_of(command)}"


def put_in_queue(command) -> str:
    return f"Put {leg_label(command.target)} in {command.params.get('queue_name', 'a queue')}"


def quoted(text, limit: int = 60) -> str:
    """Text a command spoke, quoted and cut short: “Your call matters…”."""
    text = str(text or "")
    return f"“{text[:limit]}{'…' if len(text) > limit else ''}”"


def spoke(command) -> str:
    return f"Spoke {quoted(command.params.get('payload'))} to {leg_label(command.target)}"


DESCRIBE = {
    "hangup": says("Hung up {who}"),
    "transfer": says("Transferred {who} to {to}"),
    "bridge": says("Bridged {who} with another leg"),
    "playback_start": says("Played audio to {who}"),
    "playback_stop": says("Stopped audio on {who}"),
    "speak": spoke,
    "record_start": says("Started recording {who}"),
    "record_pause": says("Paused recording {who}"),
    "record_resume": says("Resumed recording {who}"),
    "record_stop": says("Stopped recording {who}"),
    "send_dtmf": says("Sent digits {digits} to {who}"),
    "enqueue": put_in_queue,
    "leave_queue": took_out_of_queue,
    "switch_supervisor_role": says("Switched {who} to {role}"),
    "listen_in": says("Rang {to} to listen in on {who}"),
}


def dress(short: str, options: dict) -> None:
    """Give a call action's declaration its form fields and words (unless it names its own)."""
    options.setdefault("describe", DESCRIBE.get(short))
    if short in FIELDS:
        options.setdefault("fields", FIELDS[short])
