"""Writes that tie legs together (issue 28): a dialed leg to what it was dialed for, bridged legs to each other."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from calls.batch import call_by_control_id, leg_surely_uncommanded, session_legs
from calls.live import call_group, publish_call
from calls.models import Call
from portal import dialing, live
from portal.models import Command
from webhooks.payloads import when

DIAL_ACTIONS = ("call.listen_in", "conference.dial_in")
# Pushed to a call's page: each open page re-fetches its own rendering of the panel (its controls
# depend on who is looking), as the conference page does with its regions.
REFRESH_LINKS = '<div data-refresh="call-links" hidden></div>'


def dial_command_for(client_state: str) -> Command | None:
    """The portal's dial whose marker this client_state is, or None."""
    command_id = dialing.command_id_from(client_state)
    try:
        parsed = uuid.UUID(command_id) if command_id else None
    except ValueError:
        return None
    return Command.objects.filter(command_id=parsed, action__in=DIAL_ACTIONS).first() if parsed else None


def call_dial_link(*, call: Call, command: Command) -> Call:
    """Tie a leg to the dial that placed it: the call it supervises or the conference it was rung into."""
    changes = {"dial_command_id": command.pk}
    role = command.params.get("role") or command.params.get("supervisor_role") or ""
    if command.action == "call.listen_in":
        changes["supervised_call_control_id"] = command.target
    elif command.action == "conference.dial_in":
        changes["dialed_conference_id"] = command.target
    if role and not call.supervisor_role:
        changes["supervisor_role"] = role  # a later switch_supervisor_role is newer: kept
    changed = [name for name, value in changes.items() if getattr(call, name) != value]
    for name in changed:
        setattr(call, name, changes[name])
    if changed:
        call.save(update_fields=changed)
        publish_links(call)
    return call


def call_dial_placed(*, command: Command, response) -> Call | None:
    """A dial succeeded: the leg in Telnyx's answer exists from now on, ringing, linked to what it is for.

    Its call.initiated may have come first (then the row exists and is only linked).
    """
    data = (response or {}).get("data") or {}
    call_control_id = data.get("call_control_id")
    if not call_control_id:
        return None
    call, created = Call.objects.get_or_create(
        call_control_id=call_control_id,
        defaults={
            "state": Call.State.INITIATED, "direction": "outgoing", "to_number": command.params.get("to", "")[:64],
            "from_number": (command.params.get("from") or settings.DIAL_FROM_NUMBER)[:64],
            "call_leg_id": data.get("call_leg_id") or "", "call_session_id": data.get("call_session_id") or "",
            "started_at": when(data.get("start_time")) or timezone.now(),
        },
    )
    call_dial_link(call=call, command=command)
    if created:
        publish_call(call, list_changed=True)
    return call


def call_lifecycle_seen(*, call: Call, client_state: str, bridged: bool) -> None:
    """After a lifecycle event: link a dialed leg by its marker, a bridged leg to its partner, refresh the panels."""
    if not call.dial_command_id:
        command = dial_command_for(client_state)
        if command is not None:
            call_dial_link(call=call, command=command)
    if bridged:
        call_bridged_link(call=call)
    if call.supervised_call_control_id or call.dialed_conference_id or call.bridged_with:
        publish_links(call)


def call_bridged_link(*, call: Call) -> Call | None:
    """call.bridged names no partner: the portal's bridge command between them says, else the session's other bridged leg."""
    partner_id = _bridge_partner(call)
    partner = call_by_control_id(partner_id) if partner_id else None
    if partner is None:
        return None
    for leg, other in ((call, partner), (partner, call)):
        if leg.bridged_with != other.call_control_id:
            leg.bridged_with = other.call_control_id
            leg.save(update_fields=["bridged_with"])
            publish_links(leg)
    return partner


def _bridge_partner(call: Call) -> str:
    cc = call.call_control_id
    command = None if leg_surely_uncommanded(cc) else (
        Command.objects.filter(action="call.bridge")
        .filter(Q(target=cc) | Q(params__call_control_id=cc))
        .exclude(status=Command.Status.FAILED)
        .order_by("-created_at", "-id")
        .only("target", "params")
        .first()
    )
    if command is not None:
        return command.params.get("call_control_id", "") if command.target == cc else command.target
    if call.call_session_id:  # a transfer's new leg shares the original's session
        in_batch = session_legs(call.call_session_id)  # a drain's batch loaded the session's legs
        legs = [leg.call_control_id for leg in in_batch if leg.state == Call.State.BRIDGED and leg.pk != call.pk][:2] \
            if in_batch is not None else list(
                Call.objects.filter(call_session_id=call.call_session_id, state=Call.State.BRIDGED)
                .exclude(pk=call.pk).values_list("call_control_id", flat=True)[:2]
            )
        if len(legs) == 1:
            return legs[0]
    return ""


def publish_links(call: Call) -> None:
    """After commit: the panels that show this leg (its own, the call it supervises, its partner) re-fetch."""
    groups = {call_group(call)}
    related = [c for c in (call.supervised_call_control_id, call.bridged_with) if c]
    groups |= {f"call.{pk}" for pk in Call.objects.filter(call_control_id__in=related).values_list("pk", flat=True)}
    for group in sorted(groups):
        live.publish_rendered_once(f"links:{group}", lambda group=group: [(group, REFRESH_LINKS)], groups=[group])
