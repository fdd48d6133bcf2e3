"""Output serializers for recordings and transcriptions; links only for users who may listen."""
from django.urls import reverse
from rest_framework import serializers

from portal import voice_content
from recordings.models import Recording, Transcription

LISTENER_ONLY = ("audio_url", "recording_urls", "public_recording_urls")


class TranscriptionSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="transcription_id", read_only=True)

    class Meta:
        model = Transcription
        fields = ["id", "status", "text", "language", "speakers", "segments", "duration_millis", "call_control_id",
                  "call_session_id", "created_at", "updated_at"]
        read_only_fields = fields


class RecordingSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="recording_id", read_only=True)
    has_transcript = serializers.BooleanField(read_only=True)
    deleted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    match = serializers.SerializerMethodField(
        help_text="HTML, not text: the transcript fragment matching `q`, its text escaped and the matched words "
        "wrapped in <mark>…</mark>; null without `q`. Insert it as HTML (it is safe to)."
    )
    audio_url = serializers.SerializerMethodField(help_text="The stored audio (Range supported); listeners only.")

    class Meta:
        model = Recording
        fields = [
            "id", "provisional_id", "source", "status", "call_control_id", "call_leg_id", "call_session_id",
            "conference_id", "format", "channels", "started_at", "ended_at", "recorded_at", "duration_seconds",
            "saved_at", "stored_at", "size_bytes", "sha256", "content_type", "download_attempts", "last_error",
            "telnyx_error", "has_transcript", "delete_requested_at", "deleted_at", "deleted_by", "delete_reason",
            "match", "audio_url", "recording_urls", "public_recording_urls",
        ]
        read_only_fields = fields

    def get_match(self, recording) -> str | None:
        match = getattr(recording, "match", "")
        return str(match) if match else None

    def get_audio_url(self, recording) -> str | None:
        if not recording.is_playable:
            return None
        path = reverse("api:recording-audio", args=[recording.recording_id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def to_representation(self, recording):
        data = super().to_representation(recording)
        request = self.context.get("request")
        if request is None or not request.user.has_perm("recordings.listen_recording"):
            for name in LISTENER_ONLY:
                data.pop(name, None)
        return data


class RecordingDetailSerializer(RecordingSerializer):
    transcriptions = TranscriptionSerializer(many=True, read_only=True,
                                             help_text="Their text only for users who may listen (issue 24).")

    class Meta(RecordingSerializer.Meta):
        fields = [*RecordingSerializer.Meta.fields, "transcriptions"]
        read_only_fields = fields

    def to_representation(self, recording):
        data = super().to_representation(recording)
        request = self.context.get("request")
        if not voice_content.may_hear(getattr(request, "user", None)):
            data["transcriptions"] = [{**t, "text": voice_content.HIDDEN if t.get("text") else t.get("text")}
                                      for t in data.get("transcriptions", [])]
        return data
