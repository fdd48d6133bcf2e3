"""Output serializer for stored webhook events."""
from rest_framework import serializers

from webhooks.models import WebhookEvent


class EventSerializer(serializers.ModelSerializer):
    error = serializers.CharField(source="last_error", read_only=True, help_text="Traceback of the last handler failure.")

    class Meta:
        model = WebhookEvent
        fields = [
            "id", "event_id", "event_type", "occurred_at", "received_at", "status", "attempts", "error", "processed_at",
            "call_control_id", "call_session_id", "conference_id", "queue_name", "recording_id", "payload",
        ]
        read_only_fields = fields
