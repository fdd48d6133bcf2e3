"""The conference commands' parameters (endpoints.md, section conferencing): what each body may hold.

The declarations themselves are in conferencing/actions.py; the serializers are here so both stay short.
"""
from rest_framework import serializers

from calls.basics import Base64Field, LoopField
from calls.choices import BEEP, CONFERENCE_ROLES, REGIONS, SPEAK_LANGUAGES
from calls.models import Call
from conferencing.models import Participant
from portal import dialing

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


def _join_params(name: str, other_end: str, help_text: str) -> type[serializers.Serializer]:
    """Telnyx's join body (`/conferences/{id}/actions/join`) as seen from one end: from a conference it names
    the leg, from a call the conference (issue 27: one declaration, two targets)."""
    fields = {other_end: serializers.CharField(max_length=255, help_text=help_text)}  # first: made first
    fields.update(
        beep_enabled=serializers.ChoiceField(choices=BEEP, required=False),
        client_state=Base64Field(required=False),
        end_conference_on_exit=serializers.BooleanField(required=False),
        soft_end_conference_on_exit=serializers.BooleanField(required=False),
        hold=serializers.BooleanField(required=False),
        hold_audio_url=serializers.URLField(required=False),
        hold_media_name=serializers.CharField(required=False),
        mute=serializers.BooleanField(required=False),
        region=region(),
        start_conference_on_enter=serializers.BooleanField(required=False),
        supervisor_role=serializers.ChoiceField(choices=ROLES, required=False),
        whisper_call_control_ids=ids_field(help_text="Who hears a whispering supervisor."),
    )
    return type(name, (serializers.Serializer,), fields)


JoinParams = _join_params("JoinParams", "call_control_id", "The call leg to bring in.")
JoinConferenceParams = _join_params("JoinConferenceParams", "conference_id", "The conference to join.")


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
