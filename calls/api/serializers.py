"""Output serializers for call legs, their timeline, DTMF and transcript."""
from rest_framework import serializers

from calls import selectors
from calls.models import Call, TranscriptFragment

CALL_FIELDS = [
    "call_control_id", "call_leg_id", "call_session_id", "connection_id", "direction", "from_number", "to_number",
    "state", "started_at", "answered_at", "ended_at", "hangup_cause", "hangup_source", "queue_name", "conference_id",
    "recording_state", "playing", "speaking", "forking", "streaming", "transcribing", "siprec", "noise_suppression",
    "supervisor_role", "machine_detection", "machine_greeting", "machine_detection_premium", "refer_status",
    "refer_sip_response", "recording_error", "supervised_call_control_id", "dialed_conference_id", "bridged_with",
]


class CallSerializer(serializers.ModelSerializer):
    class Meta:
        model = Call
        fields = CALL_FIELDS
        read_only_fields = fields


class TranscriptFragmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TranscriptFragment
        fields = ["occurred_at", "text", "is_final", "confidence", "track"]
        read_only_fields = fields


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["event", "command"])
    title = serializers.CharField(help_text="Event type or action name.")
    summary = serializers.CharField()
    id = serializers.IntegerField(help_text="The event's or the command's id in the portal.")
    status = serializers.CharField(help_text="Event processing status or command status.")
    params = serializers.DictField(required=False, help_text="Command parameters as sent, secrets masked.")


def _timeline_item(item: dict) -> dict:
    obj = item["object"]
    out = {"at": item["at"], "kind": item["kind"], "title": item["title"], "summary": item["summary"], "id": obj.pk,
           "status": obj.status}
    if item["kind"] == "command":
        out["params"] = obj.params  # masked: secrets live only in sealed_params
    return out


class CallDetailSerializer(CallSerializer):
    client_state = serializers.CharField(read_only=True)
    client_state_text = serializers.CharField(read_only=True, help_text="client_state decoded, when it is base64 text.")
    activity = serializers.JSONField(read_only=True, help_text="Per feature: details it started with, how it ended.")
    conversation = serializers.JSONField(read_only=True)
    insights = serializers.JSONField(read_only=True)
    dtmf = serializers.SerializerMethodField()
    transcript = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(CallSerializer.Meta):
        fields = [*CALL_FIELDS, "client_state", "client_state_text", "activity", "conversation", "insights", "dtmf",
                  "transcript", "timeline"]
        read_only_fields = fields

    def get_dtmf(self, call) -> str:
        return selectors.call_dtmf(call)

    def get_transcript(self, call) -> dict:
        t = selectors.call_transcript(call)
        return {
            "final": TranscriptFragmentSerializer(t["lines"], many=True).data,
            "interim": TranscriptFragmentSerializer(t["interim"], many=True).data,
        }

    def get_timeline(self, call) -> list[dict]:
        items = selectors.call_timeline(call)["items"]
        return TimelineItemSerializer([_timeline_item(i) for i in items], many=True).data
