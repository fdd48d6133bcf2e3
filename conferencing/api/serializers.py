"""Output serializers for conferences and participants."""
from rest_framework import serializers

from conferencing.models import Conference, Participant


class ParticipantSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True, help_text="Who it is: caller number or SIP name.")
    duration_seconds = serializers.SerializerMethodField(help_text="Time in the conference, once they left.")

    class Meta:
        model = Participant
        fields = [
            "display_name", "call_control_id", "call_leg_id", "call_session_id", "label", "status", "muted", "on_hold",
            "supervisor_role", "whisper_call_control_ids", "end_conference_on_exit", "soft_end_conference_on_exit",
            "joined_at", "left_at", "duration_seconds", "speaking", "playing_media", "speaking_tts",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, participant) -> int | None:
        if participant.joined_at and participant.left_at:
            return int((participant.left_at - participant.joined_at).total_seconds())
        return None


class ConferenceSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="conference_id", read_only=True)
    participants_now = serializers.IntegerField(read_only=True)
    ended_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    recordings_count = serializers.IntegerField(read_only=True, help_text="Recordings Telnyx saved of it.")
    duration_seconds = serializers.SerializerMethodField(help_text="How long it lasted, once it ended.")

    class Meta:
        model = Conference
        fields = [
            "id", "name", "status", "region", "connection_id", "created_at", "expires_at", "ended_at", "end_reason",
            "ended_by", "duration_seconds", "recording_state", "active_recording_id", "recordings_count", "playing_media",
            "speaking", "participants_now",
        ]
        read_only_fields = fields


    def get_duration_seconds(self, conference) -> int | None:
        if conference.created_at and conference.ended_at:
            return int((conference.ended_at - conference.created_at).total_seconds())
        return None


class ConferenceDetailSerializer(ConferenceSerializer):
    participants = ParticipantSerializer(many=True, read_only=True)

    class Meta(ConferenceSerializer.Meta):
        fields = [*ConferenceSerializer.Meta.fields, "participants"]
        read_only_fields = fields
