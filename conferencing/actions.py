"""The conference commands (endpoints.md, section conferencing), each declared once."""
from rest_framework import serializers

from calls.basics import LoopField
from calls.choices import BEEP, CONFERENCE_ROLES, REGIONS, SPEAK_LANGUAGES
from calls.links import call_dial_placed
from conferencing import dial_in, live, services, words
from conferencing.models import Conference, Participant
from portal import dialing
from portal.commands.actions import Action, TargetKind, register, register_kind

CONTROL = "conferencing.control_conference"
SUPERVISE = "conferencing.supervise_conference"

LANGUAGES = SPEAK_LANGUAGES
ROLES = CONFERENCE_ROLES


def ids_field(required=False, help_text="Participants' call_control_ids; empty means everyone."):
    return serializers.ListField(
        child=serializers.CharField(max_length=255), required=required, allow_empty=not required, help_text=help_text
    )


def region():
    return serializers.ChoiceField(choices=REGIONS, required=False, help_text="Region where the conference runs.")


class CreateParams(serializers.Serializer):
    call_control_id = serializers.CharField(max_length=255, help_text="The call leg that starts the conference.")
    name = serializers.CharField(max_length=255)
    beep_enabled = serializers.ChoiceField(choices=BEEP, required=False)
    client_state = serializers.CharField(required=False)
    comfort_noise = serializers.BooleanField(required=False)
    duration_minutes = serializers.IntegerField(required=False, min_value=1)
    hold_audio_url = serializers.URLField(required=False)
    hold_media_name = serializers.CharField(required=False)
    max_participants = serializers.IntegerField(required=False, min_value=2)
    region = region()
    start_conference_on_create = serializers.BooleanField(required=False)
    force = serializers.BooleanField(
        required=False, help_text="Send it even though the portal has never seen this call leg (its webhooks may "
        "not have arrived yet). The portal's own guard; never sent to Telnyx.",
    )


UNKNOWN_LEG = (
    "The portal has never seen this call leg (no call webhook, never a participant), so Telnyx would refuse it. Check the id, or send force=true "
    "if the call is so new that its webhooks have not arrived yet."
)


def _check_known_leg(target, params):
    """Refuse up front what Telnyx would refuse later with a 404, as actions on an unknown call are (issue 30).

    Seen means a call.* webhook made its Call row, or it has been a participant somewhere.
    """
    from calls.models import Call  # the calls app's row of each leg; conferencing only reads it

    if params.get("force"):
        return
    if not (Call.objects.filter(call_control_id=target).exists()
            or Participant.objects.filter(call_control_id=target).exists()):
        raise serializers.ValidationError({"call_control_id": [UNKNOWN_LEG]})


class RegionParams(serializers.Serializer):
    region = region()


class EndParams(serializers.Serializer):
    pass


class GatherParams(serializers.Serializer):
    call_control_id = serializers.CharField(max_length=255, help_text="The participant who is asked for digits.")
    audio_url = serializers.URLField(required=False)
    media_name = serializers.CharField(required=False)
    client_state = serializers.CharField(required=False)
    gather_id = serializers.CharField(required=False)
    initial_timeout_millis = serializers.IntegerField(required=False, min_value=0)
    inter_digit_timeout_millis = serializers.IntegerField(required=False, min_value=0)
    invalid_audio_url = serializers.URLField(required=False)
    invalid_media_name = serializers.CharField(required=False)
    maximum_digits = serializers.IntegerField(required=False, min_value=1)
    maximum_tries = serializers.IntegerField(required=False, min_value=1)
    minimum_digits = serializers.IntegerField(required=False, min_value=1)
    stop_playback_on_dtmf = serializers.BooleanField(required=False)
    terminating_digit = serializers.RegexField(r"^[0-9*#]$", required=False)
    timeout_millis = serializers.IntegerField(required=False, min_value=0)
    valid_digits = serializers.RegexField(r"^[0-9*#]+$", required=False)

    def validate(self, attrs):
        # Telnyx needs neither (it can gather silently) but refuses both at once.
        if attrs.get("audio_url") and attrs.get("media_name"):
            raise serializers.ValidationError({"media_name": "Give an audio URL or a media name, not both."})
        return attrs


class HoldParams(serializers.Serializer):
    call_control_ids = ids_field()
    audio_url = serializers.URLField(required=False, help_text="Hold music.")
    media_name = serializers.CharField(required=False)
    region = region()


class JoinParams(serializers.Serializer):
    call_control_id = serializers.CharField(max_length=255, help_text="The call leg to bring in.")
    beep_enabled = serializers.ChoiceField(choices=BEEP, required=False)
    client_state = serializers.CharField(required=False)
    end_conference_on_exit = serializers.BooleanField(required=False)
    soft_end_conference_on_exit = serializers.BooleanField(required=False)
    hold = serializers.BooleanField(required=False)
    hold_audio_url = serializers.URLField(required=False)
    hold_media_name = serializers.CharField(required=False)
    mute = serializers.BooleanField(required=False)
    region = region()
    start_conference_on_enter = serializers.BooleanField(required=False)
    supervisor_role = serializers.ChoiceField(choices=ROLES, required=False)
    whisper_call_control_ids = ids_field(help_text="Who hears a whispering supervisor.")


class LeaveParams(serializers.Serializer):
    call_control_id = serializers.CharField(max_length=255)
    beep_enabled = serializers.ChoiceField(choices=BEEP, required=False)
    region = region()


class ParticipantsParams(serializers.Serializer):
    call_control_ids = ids_field()
    region = region()


class UnholdParams(serializers.Serializer):
    call_control_ids = ids_field(required=True, help_text="Participants to take off hold.")
    region = region()


class PlayParams(serializers.Serializer):
    audio_url = serializers.URLField(required=False)
    media_name = serializers.CharField(required=False)
    call_control_ids = ids_field()
    loop = LoopField(required=False, help_text='1–100 or "infinity".')
    region = region()

    def validate(self, attrs):
        if not attrs.get("audio_url") and not attrs.get("media_name"):
            raise serializers.ValidationError({"audio_url": "Give an audio URL or a media name."})
        return attrs


class RecordingParams(serializers.Serializer):
    recording_id = serializers.CharField(required=False, help_text="Empty means the current recording.")
    region = region()


class RecordStartParams(serializers.Serializer):
    format = serializers.ChoiceField(choices=["wav", "mp3"])
    channels = serializers.ChoiceField(choices=["single", "dual"], required=False)
    custom_file_name = serializers.CharField(required=False, max_length=255)
    play_beep = serializers.BooleanField(required=False)
    trim = serializers.ChoiceField(choices=["trim-silence"], required=False)
    region = region()


class RecordStopParams(RecordingParams):
    client_state = serializers.CharField(required=False)


class SendDtmfParams(serializers.Serializer):
    digits = serializers.RegexField(r"^[0-9*#ABCDwW]+$", max_length=128, error_messages={"invalid": "Use 0-9, *, #, A-D and w/W (pause)."})
    call_control_ids = ids_field()
    client_state = serializers.CharField(required=False)
    duration_millis = serializers.IntegerField(required=False, min_value=100, max_value=500)


class SpeakParams(serializers.Serializer):
    payload = serializers.CharField(max_length=3000, help_text="Text (or SSML) to say.")
    voice = serializers.CharField(max_length=128, initial="female", help_text='e.g. "female", "male" or a provider voice.')
    language = serializers.ChoiceField(choices=LANGUAGES, required=False)
    payload_type = serializers.ChoiceField(choices=["text", "ssml"], required=False)
    call_control_ids = ids_field()
    voice_settings = serializers.DictField(required=False)
    region = region()


class UpdateParams(serializers.Serializer):
    call_control_id = serializers.CharField(max_length=255)
    supervisor_role = serializers.ChoiceField(choices=ROLES)
    whisper_call_control_ids = ids_field(help_text="Who hears a whispering supervisor.")
    region = region()


class UpdateParticipantParams(serializers.Serializer):
    participant_id = serializers.CharField(max_length=255, help_text="The participant's call_control_id.")
    beep_enabled = serializers.ChoiceField(choices=BEEP, required=False)
    end_conference_on_exit = serializers.BooleanField(required=False)
    soft_end_conference_on_exit = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if len(attrs) < 2:
            raise serializers.ValidationError("Change at least one setting.")
        return attrs


class DialInParams(serializers.Serializer):
    """Ring someone into the conference (issue 28): Telnyx's dial with conference_config naming it."""

    to = dialing.DestinationField(help_text="Who to ring in: a number (E.164) or a SIP URI.")
    supervisor_role = serializers.ChoiceField(choices=ROLES, required=False, help_text="monitor, whisper or barge need a Supervisor.")
    whisper_call_control_ids = ids_field(help_text="Who hears them when they whisper.")
    mute = serializers.BooleanField(required=False)
    hold = serializers.BooleanField(required=False)
    beep_enabled = serializers.ChoiceField(choices=BEEP, required=False)
    end_conference_on_exit = serializers.BooleanField(required=False)
    soft_end_conference_on_exit = serializers.BooleanField(required=False)
    timeout_secs = serializers.IntegerField(required=False, min_value=5, max_value=600,
                                            help_text="Seconds to wait for an answer (5–600).")

    def get_fields(self):
        # Telnyx's wire name is `from`, a Python keyword: added here rather than as a class attribute.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(required=False, max_length=255,
                                               help_text="Caller id they see (default: DIAL_FROM_NUMBER).")
        return fields


# Options of the dial_in body that go into Telnyx's conference_config as they are.
CONFERENCE_CONFIG = ("supervisor_role", "whisper_call_control_ids", "mute", "hold", "beep_enabled",
                     "end_conference_on_exit", "soft_end_conference_on_exit")


def _dial_in_request(command, kwargs):
    p = command.params
    config = {"id": command.target, **{k: p[k] for k in CONFERENCE_CONFIG if k in p}}
    return dialing.dial_request(command, conference_config=config, timeout_secs=p.get("timeout_secs"))


def _dial_in_check(target: str, params: dict) -> None:
    _refuse_when_ended(target, params)
    dialing.refuse_unless_configured(caller_id_given=bool(params.get("from")))


def _rung_in(command, response):
    call = call_dial_placed(command=command, response=response)
    if call is not None:
        dial_in.participant_dialed(command=command, call_control_id=call.call_control_id)


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
        from webhooks.payloads import when

        conference = services.conference_get_or_create(
            conference_id=data["id"], name=data.get("name") or command.params.get("name", ""),
            region=data.get("region") or command.params.get("region", ""), created_at=when(data.get("created_at")),
            expires_at=when(data.get("expires_at")), connection_id=data.get("connection_id", ""),
        )
        live.publish_conference(conference)  # the name shows at once, whichever came first


def _joined(command, response):
    conference = _conference(command)
    if conference:
        p = command.params
        services.participant_expect(
            conference=conference, call_control_id=p["call_control_id"], muted=p.get("mute", False),
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
    _action("join", "actions.join", "Join a call leg", JoinParams, accepts_command_id=True, on_success=_joined,
            extra_permission=_supervising),
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
            request=_dial_in_request, on_success=_rung_in, sdk_path="client.calls.dial", target_param=None,
            description="Ring a number or SIP address; they join this conference when they answer."),
    _action("update_participant", "update_participant", "Update participant settings", UpdateParticipantParams,
            idempotent=True, on_success=_participant_updated),
]

CONFERENCE = register_kind(
    TargetKind(
        name="conference", plural="conferences", model=Conference, lookup_field="conference_id",
        view_permission="conferencing.view_conference", detail_url_name="conference-detail",
        form_groups=words.FORM_GROUPS, takes_commands=lambda conference: conference.is_active,
        label_of=words.conference_label,
    )
)
register(*CONFERENCE_ACTIONS)
