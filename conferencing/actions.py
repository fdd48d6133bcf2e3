"""The conference commands (endpoints.md, section conferencing), each declared once."""
from rest_framework import serializers

from calls import words as call_words
from conferencing import dial_in, live, services, words
from conferencing.action_params import (
    CreateParams,
    DialInParams,
    EndParams,
    GatherParams,
    HoldParams,
    JoinConferenceParams,
    JoinParams,
    LeaveParams,
    ParticipantsParams,
    PlayParams,
    RecordingParams,
    RecordStartParams,
    RecordStopParams,
    SendDtmfParams,
    SpeakParams,
    UnholdParams,
    UpdateParams,
    UpdateParticipantParams,
    _check_known_leg,
)
from conferencing.models import Conference, Participant
from portal import dialing
from portal.commands.actions import Action, TargetKind, register, register_kind
from webhooks.payloads import when

CONTROL = "conferencing.control_conference"
SUPERVISE = "conferencing.supervise_conference"
CALL_CONTROL = "calls.control_call"
CALL_JOIN = "call.join_conference"



def _dial_in_check(target: str, params: dict) -> None:
    _refuse_when_ended(target, params)
    dialing.refuse_unless_configured(caller_id_given=bool(params.get("from")))


def _conference(command):
    return Conference.objects.filter(conference_id=command.target).first()


def _for_participants(**changes):
    def apply(command, response):
        conference = _conference(command)
        if conference:
            services.participants_set(
                conference=conference, call_control_ids=command.params.get("call_control_ids"), **changes
            )

    return apply


def _set_conference(**changes):
    def apply(command, response):
        conference = _conference(command)
        if conference:
            services.conference_set(conference=conference, **changes)

    return apply


def _created(command, response):
    data = (response or {}).get("data") or {}
    if data.get("id"):
        conference = services.conference_get_or_create(
            conference_id=data["id"], name=data.get("name") or command.params.get("name", ""),
            region=data.get("region") or command.params.get("region", ""), created_at=when(data.get("created_at")),
            expires_at=when(data.get("expires_at")), connection_id=data.get("connection_id", ""),
        )
        live.publish_conference(conference)  # the name shows at once, whichever came first


def _join_ends(command) -> tuple[str, str]:
    """(conference_id, call_control_id) of a join, whichever of its two targets it was issued on."""
    if command.action == CALL_JOIN:
        return command.params["conference_id"], command.target
    return command.target, command.params["call_control_id"]


def _joined(command, response):
    """Telnyx accepted the join: the leg shows as joining until its participant webhook confirms it."""
    conference_id, call_control_id = _join_ends(command)
    conference = Conference.objects.filter(conference_id=conference_id).first()
    if conference:
        p = command.params
        services.participant_expect(
            conference=conference, call_control_id=call_control_id, muted=p.get("mute", False),
            on_hold=p.get("hold", False), supervisor_role=p.get("supervisor_role", Participant.SupervisorRole.NONE),
            whisper_call_control_ids=p.get("whisper_call_control_ids", []),
            end_conference_on_exit=p.get("end_conference_on_exit", False),
            soft_end_conference_on_exit=p.get("soft_end_conference_on_exit", False),
        )


def _role_updated(command, response):
    conference = _conference(command)
    if conference:
        p = command.params
        services.participants_set(
            conference=conference, call_control_ids=[p["call_control_id"]], supervisor_role=p["supervisor_role"],
            whisper_call_control_ids=p.get("whisper_call_control_ids", []),
        )


def _participant_updated(command, response):
    conference = _conference(command)
    if conference:
        p = command.params
        changes = {k: p[k] for k in ("end_conference_on_exit", "soft_end_conference_on_exit") if k in p}
        if changes:
            services.participants_set(conference=conference, call_control_ids=[p["participant_id"]], **changes)


def _recording_started(command, response):
    data = (response or {}).get("data") or {}
    _set_conference(recording_state=Conference.RecordingState.RECORDING, active_recording_id=str(data.get("recording_id", "")))(command, response)


def _supervising(params):
    return SUPERVISE if params.get("supervisor_role") in ("monitor", "whisper", "barge") else None


def _refuse_when_ended(target: str, params: dict) -> None:
    """Telnyx refuses commands to an ended conference (or worse, accepts and ignores them): say so first."""
    if Conference.objects.filter(conference_id=target, status=Conference.Status.COMPLETED).exists():
        raise serializers.ValidationError({"non_field_errors": ["This conference has ended; it takes no more commands."]})


def _action(short, sdk, label, params, **options):
    options.setdefault("permission", CONTROL)
    options.setdefault("check", _refuse_when_ended)
    words.dress(short, options)
    return Action(
        name=f"conference.{short}", sdk=options.pop("sdk_path", f"client.conferences.{sdk}"), label=label, params=params,
        target_kind="conference", target_param=options.pop("target_param", "id"), **options,
    )


CONFERENCE_ACTIONS = [
    Action(
        name="conference.create", sdk="client.conferences.create", label="Create conference", params=CreateParams,
        permission=CONTROL, target_kind="call", target_param=None, accepts_command_id=True, on_success=_created,
        local_params=("force",), check=_check_known_leg,
        description="Start a conference from a call leg that is already answered (one the portal has seen, "
        "unless forced).",
    ),
    _action("end", "actions.end_conference", "End conference", EndParams, accepts_command_id=True, idempotent=True,
            destructive=True, description="Hang up the conference for everyone."),
    _action("gather_using_audio", "actions.gather_dtmf_audio", "Gather DTMF", GatherParams,
            description="Play audio to one participant and collect the digits they press."),
    _action("hold", "actions.hold", "Hold", HoldParams, idempotent=True, on_success=_for_participants(on_hold=True)),
    _action("unhold", "actions.unhold", "Unhold", UnholdParams, idempotent=True, on_success=_for_participants(on_hold=False)),
    _action("leave", "actions.leave", "Remove from conference", LeaveParams, accepts_command_id=True, destructive=True),
    _action("mute", "actions.mute", "Mute", ParticipantsParams, idempotent=True, on_success=_for_participants(muted=True)),
    _action("unmute", "actions.unmute", "Unmute", ParticipantsParams, idempotent=True, on_success=_for_participants(muted=False)),
    _action("play", "actions.play", "Play audio", PlayParams),
    _action("stop", "actions.stop", "Stop audio", ParticipantsParams, idempotent=True),
    _action("speak", "actions.speak", "Speak text", SpeakParams, accepts_command_id=True),
    _action("send_dtmf", "actions.send_dtmf", "Send DTMF", SendDtmfParams),
    _action("record_start", "actions.record_start", "Start recording", RecordStartParams, accepts_command_id=True,
            on_success=_recording_started),
    _action("record_pause", "actions.record_pause", "Pause recording", RecordingParams, accepts_command_id=True,
            idempotent=True, on_success=_set_conference(recording_state=Conference.RecordingState.PAUSED)),
    _action("record_resume", "actions.record_resume", "Resume recording", RecordingParams, accepts_command_id=True,
            idempotent=True, on_success=_set_conference(recording_state=Conference.RecordingState.RECORDING)),
    _action("record_stop", "actions.record_stop", "Stop recording", RecordStopParams, accepts_command_id=True,
            idempotent=True, on_success=_set_conference(recording_state=Conference.RecordingState.IDLE)),
    _action("update", "actions.update", "Change supervisor role", UpdateParams, accepts_command_id=True, idempotent=True,
            permission=SUPERVISE, on_success=_role_updated),
    _action("dial_in", "", "Add by phone number", DialInParams, extra_permission=_supervising, check=_dial_in_check,
            request=dial_in.dial_in_request, on_success=dial_in.participant_rung_in, sdk_path="client.calls.dial", target_param=None,
            description="Ring a number or SIP address; they join this conference when they answer."),
    _action("update_participant", "update_participant", "Update participant settings", UpdateParticipantParams,
            idempotent=True, on_success=_participant_updated),
]

# Joining: one Telnyx endpoint, declared once for its two targets (issue 27). The call's door belongs to the
# calls app's pages (its "conference" group) but is declared here, since conferencing depends on calls.
def _join(name: str, label: str, params, **target) -> Action:
    """Telnyx's join from one of its two targets: the same endpoint, body rules, outcome and supervisor rule.

    Each target's page words it as its own app does (panel, the fields a person came for, what it did).
    """
    dress = words.dress if target["target_kind"] == "conference" else call_words.dress
    dress(name.split(".", 1)[1], target)
    return Action(name=name, sdk="client.conferences.actions.join", label=label, params=params, accepts_command_id=True,
                  on_success=_joined, extra_permission=_supervising, **target)


JOIN_ACTIONS = [
    _join("conference.join", "Join a call leg", JoinParams, permission=CONTROL, target_kind="conference",
          target_param="id", check=_refuse_when_ended),
    _join(CALL_JOIN, "Join a conference", JoinConferenceParams, permission=CALL_CONTROL, target_kind="call",
          target_param="call_control_id", sdk_names={"conference_id": "id"}, group="conference",
          check=lambda target, params: _refuse_when_ended(params["conference_id"], params),
          description="Bring this call into a running conference."),
]

CONFERENCE = register_kind(
    TargetKind(
        name="conference", plural="conferences", model=Conference, lookup_field="conference_id",
        view_permission="conferencing.view_conference", detail_url_name="conference-detail",
        form_groups=words.FORM_GROUPS, takes_commands=lambda conference: conference.is_active,
        label_of=words.conference_label,
    )
)
register(*CONFERENCE_ACTIONS, *JOIN_ACTIONS)
