"""The call commands (endpoints.md: call-control, queues, advanced, media, streaming), declared once.

Fields, required ones and enum choices mirror endpoints.md; ranges and rules come from the SDK's
docstrings (telnyx/types/calls/action_*_params.py). Nested objects are API-only DictFields.
"""

from rest_framework import serializers

from calls import basics, links, services, words
from calls.basics import Base64Field, LoopField
from calls.batch import call_cached
from calls.choices import (
    BIDIRECTIONAL_CODECS,
    NOISE_ENGINES,
    SAMPLING_RATES,
    SPEAK_LANGUAGES,
    STREAM_CODECS,
    TRACKS,
    TRANSCRIPTION_ENGINES,
    TRANSCRIPTION_LANGUAGES,
)
from calls.media_destinations import refuse_unlisted_media
from calls.models import Call
from portal.commands.actions import Action, TargetKind, register, register_kind

CONTROL = "calls.control_call"
SUPERVISE = "calls.supervise_call"

def choice(choices, help_text="", **kwargs):
    kwargs.setdefault("required", False)
    return serializers.ChoiceField(choices=choices, help_text=help_text, **kwargs)


class WithClientState(serializers.Serializer):
    client_state = Base64Field(required=False)


# --- advanced --------------------------------------------------------------------------------------------
class ClientStateParams(serializers.Serializer):
    client_state = Base64Field(help_text="New base64 state, echoed on every later webhook of this call.")


class SendDtmfParams(WithClientState):
    digits = serializers.RegexField(
        r"^[0-9A-D*#wW]+$", max_length=128, help_text="0-9, A-D, * and #; w pauses 0.5 s, W 1 s.",
        error_messages={"invalid": "Use 0-9, A-D, *, # and w/W (pause)."},
    )
    duration_millis = serializers.IntegerField(required=False, min_value=100, max_value=500,
                                               help_text="How long each digit plays (100–500 ms).")


class SiprecStartParams(WithClientState):
    connector_name = serializers.CharField(required=False, max_length=255, help_text="The configured SIPREC connector.")
    include_metadata_custom_headers = serializers.BooleanField(required=False)
    secure = serializers.BooleanField(required=False, help_text="Encrypt media to the SRS (SRTP and TLS).")
    session_timeout_secs = serializers.IntegerField(required=False, min_value=0,
                                                    help_text="Session-Expires: 90 or more, 0 to disable.")
    sip_transport = choice(["udp", "tcp", "tls"])
    siprec_track = choice(TRACKS)

    def validate_session_timeout_secs(self, value):
        if 0 < value < 90:
            raise serializers.ValidationError("Use 0 (disabled) or at least 90 seconds.")
        return value


class SuppressionStartParams(WithClientState):
    direction = choice(["inbound", "outbound", "both"])
    noise_suppression_engine = choice(NOISE_ENGINES)
    noise_suppression_engine_config = serializers.DictField(required=False, help_text="Engine settings (API only).")


class SwitchRoleParams(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=["barge", "whisper", "monitor"], help_text="barge: talk to both; whisper: to the caller only; monitor: listen."
    )


# --- media -----------------------------------------------------------------------------------------------
class PlaybackStartParams(WithClientState):
    audio_url = serializers.URLField(required=False, help_text="A WAV or MP3 file.")
    media_name = serializers.CharField(required=False, max_length=255, help_text="A file uploaded to Telnyx media.")
    playback_content = serializers.CharField(required=False, help_text="Base64 MP3 or WAV (instead of a URL).")
    audio_type = choice(["mp3", "wav"], "Type of audio_url or playback_content.")
    cache_audio = serializers.BooleanField(required=False)
    loop = LoopField(required=False, help_text='1–100 or "infinity".')
    overlay = serializers.BooleanField(required=False, help_text="Mix over audio already playing.")
    stop = serializers.CharField(required=False, help_text='"current" or "all": stop what plays first.')
    target_legs = serializers.CharField(required=False, help_text='"self", "opposite" or "both".')

    def validate(self, attrs):
        # Telnyx: media_name and audio_url cannot be used together; with no source there is nothing to play.
        if attrs.get("audio_url") and attrs.get("media_name"):
            raise serializers.ValidationError({"media_name": "Give an audio URL or a media name, not both."})
        if not (attrs.get("audio_url") or attrs.get("media_name") or attrs.get("playback_content")):
            raise serializers.ValidationError({"audio_url": "Give an audio URL, a media name or playback content."})
        return attrs


class PlaybackStopParams(WithClientState):
    overlay = serializers.BooleanField(required=False)
    stop = serializers.CharField(required=False, help_text='"current" or "all".')


class SpeakParams(WithClientState):
    payload = serializers.CharField(max_length=3000, style={"base_template": "textarea.html"},
                                    help_text="Text (or SSML) to say.")
    voice = serializers.CharField(max_length=128, initial="female", help_text='e.g. "female", "male" or a provider voice.')
    language = choice(SPEAK_LANGUAGES)
    payload_type = choice(["text", "ssml"])
    service_level = choice(["basic", "premium"])
    loop = LoopField(required=False, help_text='1–100 or "infinity".')
    stop = serializers.CharField(required=False, help_text='"current" or "all".')
    target_legs = choice(["self", "opposite", "both"])
    voice_settings = serializers.DictField(required=False, help_text="Provider voice settings (API only).")


class RecordStartParams(WithClientState):
    format = serializers.ChoiceField(choices=["wav", "mp3"])
    channels = serializers.ChoiceField(choices=["single", "dual"])
    custom_file_name = serializers.CharField(required=False, max_length=255)
    max_length = serializers.IntegerField(required=False, min_value=0, max_value=14400, help_text="Seconds; 0 = no limit.")
    play_beep = serializers.BooleanField(required=False)
    recording_track = choice(["both", "inbound", "outbound"])
    timeout_secs = serializers.IntegerField(required=False, min_value=0, help_text="Stop after this much silence; 0 = never.")
    trim = choice(["trim-silence"])
    transcription = serializers.BooleanField(required=False, help_text="Transcribe the recording once saved.")
    transcription_engine = choice(["A", "B", "deepgram/nova-3"])
    transcription_language = choice(TRANSCRIPTION_LANGUAGES)
    transcription_max_speaker_count = serializers.IntegerField(required=False)
    transcription_min_speaker_count = serializers.IntegerField(required=False)
    transcription_profanity_filter = serializers.BooleanField(required=False)
    transcription_speaker_diarization = serializers.BooleanField(required=False)


class RecordingParams(WithClientState):
    recording_id = serializers.CharField(required=False, max_length=255, help_text="Empty means the current recording.")


# --- streaming -------------------------------------------------------------------------------------------
class ForkStartParams(WithClientState):
    rx = serializers.CharField(required=False, help_text="udp:ip:port for the call's incoming RTP.")
    tx = serializers.CharField(required=False, help_text="udp:ip:port for the call's outgoing RTP.")
    stream_type = choice(["decrypted"])

    def validate(self, attrs):
        if attrs.get("stream_type") == "decrypted" and not (attrs.get("rx") and attrs.get("tx")):
            raise serializers.ValidationError({"rx": "rx and tx are both required with stream_type decrypted."})
        refuse_unlisted_media(attrs, "rx", "tx")
        return attrs


class ForkStopParams(WithClientState):
    stream_type = choice(["raw", "decrypted"], "The stream_type fork_start used.")


class StreamingStartParams(WithClientState):
    stream_url = serializers.CharField(required=False, help_text="WebSocket address (wss://...) receiving the audio.")
    stream_track = choice(TRACKS)
    stream_codec = choice(STREAM_CODECS)
    stream_auth_token = serializers.CharField(required=False, max_length=4000,
                                              help_text="Sent to your WebSocket; never shown again.")
    stream_bidirectional_mode = choice(["mp3", "rtp"])
    stream_bidirectional_codec = choice(BIDIRECTIONAL_CODECS, "Only with mode rtp.")
    stream_bidirectional_sampling_rate = choice(SAMPLING_RATES)
    stream_bidirectional_target_legs = choice(["both", "self", "opposite"])
    enable_dialogflow = serializers.BooleanField(required=False)
    dialogflow_config = serializers.DictField(required=False, help_text="API only.")
    custom_parameters = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()), required=False,
        help_text='[{"name": ..., "value": ...}] sent with the WebSocket connection (API only).',
    )

    def validate_custom_parameters(self, value):
        for item in value:
            if set(item) - {"name", "value"}:
                raise serializers.ValidationError('Each item has only "name" and "value".')
        return value

    def validate(self, attrs):
        refuse_unlisted_media(attrs, "stream_url")
        return attrs


class StreamingStopParams(WithClientState):
    stream_id = serializers.CharField(required=False, max_length=255, help_text="Empty stops every stream.")


class TranscriptionStartParams(WithClientState):
    transcription_engine = choice(TRANSCRIPTION_ENGINES, "A = Google, B = Telnyx (legacy names).")
    transcription_tracks = serializers.CharField(required=False, help_text='"inbound" (default), "outbound" or "both".')
    transcription_engine_config = serializers.DictField(required=False, help_text="Engine settings (API only).")


# --- queue -----------------------------------------------------------------------------------------------
class EnqueueParams(WithClientState):
    queue_name = serializers.CharField(max_length=255, help_text="Created if it does not exist yet.")
    keep_after_hangup = serializers.BooleanField(required=False)
    max_size = serializers.IntegerField(required=False, min_value=1, help_text="Only for a new queue.")
    max_wait_time_secs = serializers.IntegerField(required=False, min_value=1)


# --- local state Telnyx reports by no webhook ------------------------------------------------------------
def _mirror(feature, changes=None, details=None, merge=False):
    """on_success: apply `changes` and `details(params)` to the target call under `feature`."""

    def apply(command, response):
        services.call_command_applied(
            call_control_id=command.target, feature=feature, changes=changes,
            details=details(command.params) if details else None, merge_details=merge,
        )

    return apply


def _pick(*keys):
    return lambda params: {k: params[k] for k in keys if k in params}


def _client_state_updated(command, response):
    services.call_client_state_set(call_control_id=command.target, client_state=command.params["client_state"])


def _role_switched(command, response):
    call = services.call_command_applied(call_control_id=command.target, feature="supervisor_role",
                                         changes={"supervisor_role": command.params["role"]})
    if call is not None:
        links.publish_links(call)  # the supervised call's page lists this leg with its role


RECORDING = Call.RecordingState


def _action(short, sdk, label, params, group, **options):
    options.setdefault("permission", CONTROL)
    options.setdefault("accepts_command_id", True)
    words.dress(short, options)
    return Action(
        name=f"call.{short}", sdk=options.pop("sdk_path", f"client.calls.actions.{sdk}"), label=label, params=params,
        target_kind="call", target_param=options.pop("target_param", "call_control_id"), group=group, **options,
    )


def _dial_placed(command, response):
    links.call_dial_placed(command=command, response=response)


CALL_ACTIONS = [
    # the call itself (issue 28)
    _action("hangup", "hangup", "Hang up", basics.HangupParams, "call", idempotent=True, destructive=True,
            description="End this call leg for everyone on it."),
    _action("transfer", "transfer", "Transfer", basics.TransferParams, "call", sdk_names={"from": "from_"},
            secret_params=("sip_auth_password",),
            description="Ring another number; when it answers, this call is bridged to it."),
    _action("bridge", "bridge", "Bridge with another leg", basics.BridgeParams, "call",
            sdk_names={"call_control_id": "call_control_id_to_bridge_with"}, target_param="call_control_id_to_bridge",
            check=basics.refuse_bridging_badly, description="Connect this leg's audio with another live leg."),
    # media
    _action("playback_start", "start_playback", "Play audio", PlaybackStartParams, "media"),
    _action("playback_stop", "stop_playback", "Stop audio", PlaybackStopParams, "media", idempotent=True),
    _action("speak", "speak", "Speak text", SpeakParams, "media"),
    # recording
    _action("record_start", "start_recording", "Start recording", RecordStartParams, "recording",
            on_success=_mirror("recording", {"recording_state": RECORDING.RECORDING},
                               _pick("format", "channels", "recording_track", "custom_file_name"))),
    _action("record_pause", "pause_recording", "Pause recording", RecordingParams, "recording", idempotent=True,
            on_success=_mirror("recording", {"recording_state": RECORDING.PAUSED}, merge=True)),
    _action("record_resume", "resume_recording", "Resume recording", RecordingParams, "recording", idempotent=True,
            on_success=_mirror("recording", {"recording_state": RECORDING.RECORDING}, merge=True)),
    _action("record_stop", "stop_recording", "Stop recording", RecordingParams, "recording", idempotent=True,
            on_success=_mirror("recording", {"recording_state": RECORDING.IDLE}, merge=True)),
    # streaming: sending the call's audio elsewhere is listening, so it takes the Supervisor's permission
    _action("fork_start", "start_forking", "Start forking", ForkStartParams, "streaming", permission=SUPERVISE),
    _action("fork_stop", "stop_forking", "Stop forking", ForkStopParams, "streaming", idempotent=True),
    _action("streaming_start", "start_streaming", "Start streaming", StreamingStartParams, "streaming",
            permission=SUPERVISE, secret_params=("stream_auth_token", "custom_parameters")),
    _action("streaming_stop", "stop_streaming", "Stop streaming", StreamingStopParams, "streaming", idempotent=True),
    # transcription (Telnyx sends no "started" / "stopped" webhook: mirror the command)
    _action("transcription_start", "start_transcription", "Start transcription", TranscriptionStartParams,
            "transcription", on_success=_mirror("transcription", {"transcribing": True},
                                                _pick("transcription_engine", "transcription_tracks"))),
    _action("transcription_stop", "stop_transcription", "Stop transcription", WithClientState, "transcription",
            idempotent=True, on_success=_mirror("transcription", {"transcribing": False}, merge=True)),
    # advanced
    _action("send_dtmf", "send_dtmf", "Send DTMF", SendDtmfParams, "advanced"),
    _action("client_state_update", "update_client_state", "Update client state", ClientStateParams, "advanced",
            accepts_command_id=False, idempotent=True, on_success=_client_state_updated),
    _action("siprec_start", "start_siprec", "Start SIPREC", SiprecStartParams, "advanced", accepts_command_id=False),
    _action("siprec_stop", "stop_siprec", "Stop SIPREC", WithClientState, "advanced", idempotent=True),
    _action("suppression_start", "start_noise_suppression", "Start noise suppression", SuppressionStartParams,
            "advanced", on_success=_mirror("noise_suppression", {"noise_suppression": True},
                                           _pick("direction", "noise_suppression_engine"))),
    _action("suppression_stop", "stop_noise_suppression", "Stop noise suppression", WithClientState, "advanced",
            idempotent=True, on_success=_mirror("noise_suppression", {"noise_suppression": False}, merge=True)),
    _action("switch_supervisor_role", "switch_supervisor_role", "Switch supervisor role", SwitchRoleParams, "advanced",
            permission=SUPERVISE, accepts_command_id=False, idempotent=True, on_success=_role_switched),
    # queue (the queues app keeps the queue rows from call.enqueued / call.dequeued)
    _action("enqueue", "enqueue", "Put in a queue", EnqueueParams, "queue"),
    _action("leave_queue", "leave_queue", "Take out of its queue", WithClientState, "queue", idempotent=True),
    # conference: call.join_conference is declared with conference.join in conferencing/actions.py (issue 27)
]


# Dialing for a call (issue 28): the portal's shape of Telnyx's dial, not a mirror of one endpoint.
DIAL_ACTIONS = [
    Action(
        name="call.listen_in", sdk="client.calls.dial", label="Listen in", params=basics.ListenInParams,
        permission=SUPERVISE, target_kind="call", target_param=None, group="listen",
        check=basics.refuse_listening_badly, request=basics.listen_in_request, on_success=_dial_placed,
        description="Ring your phone onto this call as monitor, whisper or barge.", describe=words.DESCRIBE["listen_in"],
    ),
]


def _call_group(target: str) -> str | None:
    cached = call_cached(target)  # a drain's batch has most legs it publishes loaded already (issue 25)
    pk = cached.pk if cached else Call.objects.filter(call_control_id=target).values_list("pk", flat=True).first()
    return f"call.{pk}" if pk else None


CALL = register_kind(
    TargetKind(
        name="call", plural="calls", model=Call, lookup_field="call_control_id", view_permission="calls.view_call",
        detail_url_name="call-detail", group_of=_call_group,
        form_groups=words.FORM_GROUPS,
        takes_commands=lambda call: call.is_active, label_of=words.leg_label,
    )
)
register(*CALL_ACTIONS, *DIAL_ACTIONS)
