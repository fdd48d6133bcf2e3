"""Ringing someone into a conference (issue 28: conference.dial_in): Telnyx's dial for it, and the leg listed as joining."""
from __future__ import annotations

from datetime import datetime

from calls.links import call_dial_placed
from conferencing.batch import participant_get_or_create
from conferencing.labels import leg_label
from conferencing.live import publish_conference
from conferencing.models import Conference, Participant
from portal import dialing
from webhooks.ordering import apply_if_newer


def participant_dialed(*, command, call_control_id: str) -> Participant | None:
    """A leg rung into the conference by conference.dial_in: listed at once as joining (ringing) with its options.

    Its conference.participant.joined may already be applied: then nothing changes.
    """
    conference = Conference.objects.filter(conference_id=command.target).first()
    if conference is None:
        return None
    p = command.params
    participant, created = participant_get_or_create(
        conference, call_control_id,
        defaults={
            "label": leg_label(from_number="", to_number=p.get("to", ""), direction="outgoing"),
            "muted": p.get("mute", False), "on_hold": p.get("hold", False),
            "supervisor_role": p.get("supervisor_role") or Participant.SupervisorRole.NONE,
            "whisper_call_control_ids": p.get("whisper_call_control_ids", []),
            "end_conference_on_exit": p.get("end_conference_on_exit", False),
            "soft_end_conference_on_exit": p.get("soft_end_conference_on_exit", False),
        },
    )
    if created:
        publish_conference(conference)
    return participant


def participant_dial_ended(*, call_control_id: str, occurred_at: datetime | None) -> int:
    """call.hangup of a leg that never joined (rung in, not answered or failed): it leaves the roster."""
    count = 0
    for participant in Participant.objects.filter(
        call_control_id=call_control_id, status=Participant.Status.JOINING, joined_at__isnull=True
    ).select_related("conference"):
        if apply_if_newer(participant, occurred_at, {"status": Participant.Status.LEFT, "left_at": occurred_at}):
            count += 1
            publish_conference(participant.conference)
    return count


# Options of the dial_in body that go into Telnyx's conference_config as they are.
CONFERENCE_CONFIG = ("supervisor_role", "whisper_call_control_ids", "mute", "hold", "beep_enabled",
                     "end_conference_on_exit", "soft_end_conference_on_exit")


def dial_in_request(command, kwargs):
    """Telnyx's dial for conference.dial_in: the portal's dial with conference_config naming the conference."""
    p = command.params
    config = {"id": command.target, **{k: p[k] for k in CONFERENCE_CONFIG if k in p}}
    return dialing.dial_request(command, conference_config=config, timeout_secs=p.get("timeout_secs"))


def participant_rung_in(command, response):
    """conference.dial_in succeeded: the new leg exists (ringing) and is listed as joining."""
    call = call_dial_placed(command=command, response=response)
    if call is not None:
        participant_dialed(command=command, call_control_id=call.call_control_id)
