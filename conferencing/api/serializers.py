"""Output serializers for conferences and participants."""
from rest_framework import serializers

from conferencing.models import Conference, Participant


class ParticipantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Participant
        fields = [
            "call_control_id", "call_leg_id", "call_session_id", "label", "status", "muted", "on_hold",
            "supervisor_role", "whisper_call_control_ids", "end_conference_on_exit", "soft_end_conference_on_exit",
            "joined_at", "left_at", "speaking", "playing_media", "speaking_tts",
        ]
        read_only_fields = fields


class ConferenceSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="conference_id", read_only=True)
    participants_now = serializers.IntegerField(read_only=True)
    ended_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Conference
        fields = [
            "id", "name", "status", "region", "connection_id", "created_at", "expires_at", "ended_at", "end_reason",
            "ended_by", "recording_state", "active_recording_id", "playing_media", "speaking", "participants_now",
        ]
        read_only_fields = fields


class ConferenceDetailSerializer(ConferenceSerializer):
    participants = ParticipantSerializer(many=True, read_only=True)

    class Meta(ConferenceSerializer.Meta):
        fields = [*ConferenceSerializer.Meta.fields, "participants"]
        read_only_fields = fields
