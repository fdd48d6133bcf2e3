"""Parameters of the call basics (issue 28): hang up, transfer, bridge (endpoints.md, call-control) and listen in.

Hang up, transfer and bridge mirror endpoints.md under Telnyx's wire names (`from`, and bridge's
`call_control_id`); ranges come from the SDK's docstrings (telnyx/types/calls/action_*_params.py).
Listen in is the portal's own shape of Telnyx's dial: `to` and `role`, nothing else.
"""
import base64
import binascii

from rest_framework import serializers

from calls.models import Call
from portal import dialing

AMD = ["premium", "premium_ios_call_screening_detection", "detect", "detect_beep", "detect_words", "greeting_end",
       "disabled"]
RINGTONES = [
    "at", "au", "be", "bg", "br", "ch", "cl", "cn", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr", "hu", "il", "in",
    "it", "jp", "lt", "mx", "my", "nl", "no", "nz", "ph", "pl", "pt", "ru", "se", "sg", "th", "tw", "uk", "us-old",
    "us", "ve", "za",
]
SUPERVISOR_ROLES = ["monitor", "whisper", "barge"]


def _choice(choices, help_text=""):
    return serializers.ChoiceField(choices=choices, required=False, help_text=help_text)


def _headers(help_text):
    return serializers.ListField(child=serializers.DictField(child=serializers.CharField()), required=False,
                                 help_text=help_text)


class Base64Field(serializers.CharField):
    """client_state: Telnyx requires valid base64 and echoes it on every later webhook."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Base64, echoed on every later webhook of this call.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Enter valid base64 (e.g. aGVsbG8= for “hello”).") from None
        return value


def _client_state(help_text="Base64, echoed on every later webhook of this call."):
    return Base64Field(required=False, help_text=help_text)


class RecordOnAnswer(serializers.Serializer):
    """Recording started automatically once the new bridge is up (`record`: record-from-answer)."""

    record = _choice(["record-from-answer"])
    record_channels = _choice(["single", "dual"])
    record_custom_file_name = serializers.CharField(required=False, max_length=255)
    record_format = _choice(["wav", "mp3"])
    record_max_length = serializers.IntegerField(required=False, min_value=0, max_value=43200,
                                                 help_text="Seconds; 0 = no limit.")
    record_timeout_secs = serializers.IntegerField(required=False, min_value=0, help_text="Silence before stopping; 0 = never.")
    record_track = _choice(["both", "inbound", "outbound"])
    record_trim = _choice(["trim-silence"])


class HangupParams(serializers.Serializer):
    client_state = _client_state()
    reason = serializers.CharField(required=False, max_length=255, help_text="Sent to the far end as the SIP reason.")
    custom_headers = _headers('[{"name": ..., "value": ...}] SIP headers on the BYE (API only).')


class TransferParams(RecordOnAnswer):
    to = dialing.DestinationField(help_text="Number (E.164) or SIP URI the call is transferred to.")
    from_display_name = serializers.CharField(required=False, max_length=128)
    timeout_secs = serializers.IntegerField(required=False, min_value=5, max_value=600,
                                            help_text="Seconds to wait for an answer (5–600).")
    time_limit_secs = serializers.IntegerField(required=False, min_value=1, max_value=14400,
                                               help_text="Longest the new leg may last (up to 14400 s).")
    audio_url = serializers.URLField(required=False, help_text="Played to the caller while the transfer rings.")
    media_name = serializers.CharField(required=False, max_length=255)
    early_media = serializers.BooleanField(required=False)
    answering_machine_detection = _choice(AMD)
    answering_machine_detection_config = serializers.DictField(required=False, help_text="API only.")
    client_state = _client_state()
    target_leg_client_state = _client_state("Base64 state for the new leg's webhooks.")
    custom_headers = _headers("SIP headers on the new leg (API only).")
    sip_headers = _headers("User-to-user SIP headers (API only).")
    diversion = serializers.CharField(required=False, max_length=255)
    media_encryption = _choice(["disabled", "SRTP", "DTLS"])
    mute_dtmf = _choice(["none", "both", "self", "opposite"])
    park_after_unbridge = serializers.CharField(required=False, max_length=32, help_text='"self" parks this leg after.')
    preferred_codecs = serializers.CharField(required=False, max_length=255)
    privacy = _choice(["id", "none"])
    route_to_mobile = serializers.BooleanField(required=False)
    send_digits_on_answer = serializers.RegexField(r"^[0-9A-D*#wW]+$", required=False, max_length=128)
    sip_auth_username = serializers.CharField(required=False, max_length=255)
    sip_auth_password = serializers.CharField(required=False, max_length=255, help_text="Sent to Telnyx; never shown again.")
    sip_region = _choice(["US", "Europe", "Canada", "Australia", "Middle East"])
    sip_transport_protocol = _choice(["UDP", "TCP", "TLS"])
    sound_modifications = serializers.DictField(required=False, help_text="API only.")
    webhook_url = serializers.URLField(required=False)
    webhook_url_method = _choice(["POST", "GET"])
    webhook_urls = serializers.DictField(required=False, help_text="API only.")
    webhook_urls_method = _choice(["POST", "GET"])
    webhook_retries_policies = serializers.DictField(required=False, help_text="API only.")

    def get_fields(self):
        # Telnyx's wire name is `from`, a Python keyword: added here rather than as a class attribute.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(required=False, max_length=255,
                                               help_text="Caller id the new leg shows (a number on your account).")
        return fields

    def validate(self, attrs):
        if attrs.get("audio_url") and attrs.get("media_name"):
            raise serializers.ValidationError({"media_name": "Give an audio URL or a media name, not both."})
        return attrs


class BridgeParams(RecordOnAnswer):
    call_control_id = serializers.CharField(max_length=255, help_text="The other live leg, bridged with this one.")
    client_state = _client_state()
    hold_after_unbridge = serializers.BooleanField(required=False)
    mute_dtmf = _choice(["none", "both", "self", "opposite"])
    park_after_unbridge = serializers.CharField(required=False, max_length=32, help_text='"self" parks this leg after.')
    play_ringtone = serializers.BooleanField(required=False, help_text="Ring while the other leg is not answered yet.")
    prevent_double_bridge = serializers.BooleanField(required=False)
    ringtone = _choice(RINGTONES)
    queue = serializers.CharField(required=False, max_length=255, help_text="Bridge with a queue's first caller instead.")
    video_room_id = serializers.CharField(required=False, max_length=255)
    video_room_context = serializers.CharField(required=False, max_length=4000)

    def validate(self, attrs):
        # Telnyx: call_control_id, queue and video_room_id cannot be used together; call_control_id is required.
        for other in ("queue", "video_room_id"):
            if attrs.get(other):
                raise serializers.ValidationError({other: f"Telnyx refuses {other} together with call_control_id."})
        return attrs


class ListenInParams(serializers.Serializer):
    to = dialing.DestinationField(help_text="Your phone (E.164) or SIP URI: Telnyx rings it onto this call.")
    role = serializers.ChoiceField(
        choices=SUPERVISOR_ROLES, initial="monitor",
        help_text="monitor: listen only; whisper: the agent hears you; barge: both ends hear you.",
    )


def refuse_bridging_badly(target: str, params: dict) -> None:
    """A leg cannot be bridged with itself, nor with a leg the portal saw end."""
    other = params.get("call_control_id")
    if other == target:
        raise serializers.ValidationError({"call_control_id": ["Pick another leg: a call cannot be bridged with itself."]})
    if Call.objects.filter(call_control_id=other, state=Call.State.HANGUP).exists():
        raise serializers.ValidationError({"call_control_id": ["That leg has ended: pick a live one."]})


def refuse_listening_badly(target: str, params: dict) -> None:
    """Dialing must be set up, and a call the portal saw end has nothing left to listen to."""
    dialing.refuse_unless_configured()
    if Call.objects.filter(call_control_id=target, state=Call.State.HANGUP).exists():
        raise serializers.ValidationError({"non_field_errors": ["This call has ended: there is nothing to listen to."]})


def listen_in_request(command, kwargs: dict) -> dict:
    """Telnyx's dial, ringing `to` onto the target call as a supervisor with `role`."""
    return dialing.dial_request(
        command, supervise_call_control_id=command.target, supervisor_role=command.params["role"],
    )


class LoopField(serializers.CharField):
    """1–100 or "infinity", as Telnyx's LoopcountParam."""

    def to_internal_value(self, data):
        value = str(super().to_internal_value(data)).strip()
        if value == "infinity":
            return value
        # ASCII digits, few of them: "²".isdigit() is true and int() refuses it and 5,000-digit strings (a 500).
        if not (value.isascii() and value.isdigit() and len(value) <= 3) or not 1 <= int(value) <= 100:
            raise serializers.ValidationError('Enter a whole number from 1 to 100, or "infinity".')
        return int(value)
