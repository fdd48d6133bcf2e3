"""Writes for participants the portal rang into a conference (issue 28: conference.dial_in)."""
from __future__ import annotations

from datetime import datetime

from conferencing.labels import leg_label
from conferencing.live import publish_conference
from conferencing.models import Conference, Participant
from webhooks.ordering import apply_if_newer


def participant_dialed(*, command, call_control_id: str) -> Participant | None:
    """A leg rung into the conference by conference.dial_in: listed at once as joining (ringing) with its options.

    Its conference.participant.joined may already be applied: then nothing changes.
    """
    conference = Conference.objects.filter(conference_id=command.target).first()
    if conference is None:
        return None
    p = command.params
    participant, created = Participant.objects.get_or_create(
        conference=conference, call_control_id=call_control_id,
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
