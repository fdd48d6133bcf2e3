"""Output serializer for stored webhook events."""
from django.contrib.auth.models import AnonymousUser
from rest_framework import serializers

from webhooks.models import WebhookEvent


class EventSerializer(serializers.ModelSerializer):
    error = serializers.CharField(source="last_error", read_only=True, help_text="Traceback of the last handler failure.")
    payload = serializers.SerializerMethodField(help_text="data.payload; recording links only for listeners.")

    class Meta:
        model = WebhookEvent
        fields = [
            "id", "event_id", "event_type", "occurred_at", "received_at", "status", "attempts", "error", "processed_at",
            "call_control_id", "call_session_id", "conference_id", "queue_name", "recording_id", "payload",
        ]
        read_only_fields = fields

    def get_payload(self, event) -> dict:
        from webhooks.selectors import payload_for

        request = self.context.get("request")
        return payload_for(event, getattr(request, "user", None) or AnonymousUser())
