"""The 14 conference webhooks → conference and participant state."""
from calls import links
from calls.models import Call
from conferencing import dial_in, labels, services
from conferencing.batch import (
    leg_rostered,
    preload_conferences,
    preload_created_names,
    preload_enders,
    preload_participants,
    preload_rostered_legs,
    surely_named_on_rosters,
    surely_not_ringing,
    surely_not_rostered,
)
from webhooks.payloads import text


def _ids(event):
    p = event.payload
    return text(p, "conference_id"), text(p, "call_control_id")


def on_created(event):
    p = event.payload
    services.conference_started(
        conference_id=text(p, "conference_id"), occurred_at=event.occurred_at, connection_id=text(p, "connection_id")
    )


def on_call_leg(event):
    """call.initiated / call.answered: a leg became known, so participants on it get a name."""
    p = event.payload
    call_control_id = text(p, "call_control_id")
    if surely_not_rostered(call_control_id) or surely_named_on_rosters(call_control_id):  # the batch asked at once
        return

    def label() -> str:
        direction = text(p, "direction", 16)
        if not direction:  # call.answered does not say; the leg's call.initiated did

            direction = Call.objects.filter(call_control_id=call_control_id).values_list("direction", flat=True).first() or ""
        return labels.leg_label(from_number=text(p, "from"), to_number=text(p, "to"), direction=direction)

    services.participants_label_from_call(call_control_id, label)


def on_dialed_leg(event):
    """call.initiated: a leg rung in by conference.dial_in shows as ringing, whichever came first, the
    command's answer or this event (its client_state carries the dial's marker)."""
    on_call_leg(event)
    command = links.dial_command_for(text(event.payload, "client_state", 10_000))
    if command is not None and command.action == "conference.dial_in":
        dial_in.participant_dialed(command=command, call_control_id=text(event.payload, "call_control_id"))
        leg_rostered(text(event.payload, "call_control_id"))


def on_call_hangup(event):
    if surely_not_ringing(text(event.payload, "call_control_id")):  # the batch asked for all its legs at once
        return
    dial_in.participant_dial_ended(call_control_id=text(event.payload, "call_control_id"), occurred_at=event.occurred_at)


def on_ended(event):
    services.conference_ended(
        conference_id=text(event.payload, "conference_id"), occurred_at=event.occurred_at,
        reason=text(event.payload, "reason", 64),
    )


def on_floor_changed(event):
    conference_id, call_control_id = _ids(event)
    services.floor_changed(conference_id=conference_id, call_control_id=call_control_id, occurred_at=event.occurred_at)


def on_participant_joined(event):
    conference_id, call_control_id = _ids(event)
    services.participant_joined(
        conference_id=conference_id, call_control_id=call_control_id, occurred_at=event.occurred_at,
        call_leg_id=text(event.payload, "call_leg_id"), call_session_id=text(event.payload, "call_session_id"),
    )
    leg_rostered(call_control_id)


def on_participant_left(event):
    conference_id, call_control_id = _ids(event)
    services.participant_left(
        conference_id=conference_id, call_control_id=call_control_id, occurred_at=event.occurred_at,
        call_leg_id=text(event.payload, "call_leg_id"), call_session_id=text(event.payload, "call_session_id"),
    )
    leg_rostered(call_control_id)


def _media_name(payload) -> str:
    return text(payload, "media_name", 500) or text(payload, "media_url", 500) or "audio"


def on_participant_playback(started):
    def handler(event):
        conference_id, call_control_id = _ids(event)
        services.participant_media(
            conference_id=conference_id, call_control_id=call_control_id,
            playing_media=_media_name(event.payload) if started else "",
        )

    return handler


def on_participant_speak(started):
    def handler(event):
        conference_id, call_control_id = _ids(event)
        services.participant_media(conference_id=conference_id, call_control_id=call_control_id, speaking_tts=started)

    return handler


def on_playback(started):
    def handler(event):
        services.conference_media(
            conference_id=text(event.payload, "conference_id"),
            playing_media=_media_name(event.payload) if started else "",
        )

    return handler


def on_speak(started):
    def handler(event):
        services.conference_media(conference_id=text(event.payload, "conference_id"), speaking=started)

    return handler


def on_recording_saved(event):
    services.recording_saved(conference_id=text(event.payload, "conference_id"), recording_id=text(event.payload, "recording_id"))


HANDLERS = {
    "conference.created": on_created,
    "conference.ended": on_ended,
    "conference.floor.changed": on_floor_changed,
    "conference.participant.joined": on_participant_joined,
    "conference.participant.left": on_participant_left,
    "conference.participant.playback.started": on_participant_playback(True),
    "conference.participant.playback.ended": on_participant_playback(False),
    "conference.participant.speak.started": on_participant_speak(True),
    "conference.participant.speak.ended": on_participant_speak(False),
    "conference.playback.started": on_playback(True),
    "conference.playback.ended": on_playback(False),
    "conference.speak.started": on_speak(True),
    "conference.speak.ended": on_speak(False),
    "conference.recording.saved": on_recording_saved,
    # Labels for participants whose leg the portal learns about after they joined.
    "call.initiated": on_dialed_leg,
    "call.answered": on_call_leg,
    # A leg rung in that never joined (not answered, failed) leaves the roster with Telnyx's cause.
    "call.hangup": on_call_hangup,
}


BATCH_PRELOADS = [preload_conferences, preload_created_names, preload_enders, preload_rostered_legs, preload_participants]
