"""Output serializers for call legs, their timeline, DTMF and transcript."""
from rest_framework import serializers

from calls import selectors
from calls.models import Call, TranscriptFragment
from portal import voice_content

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
    conversation = serializers.SerializerMethodField(help_text="call.conversation.ended; messages only for listeners.")
    insights = serializers.SerializerMethodField(help_text="Conversation insights; results only for listeners.")
    dtmf = serializers.SerializerMethodField(help_text="Digits pressed; one '•' each for users who may not listen.")
    transcript = serializers.SerializerMethodField(help_text="Transcript fragments; text only for listeners.")
    timeline = serializers.SerializerMethodField()

    class Meta(CallSerializer.Meta):
        fields = [*CALL_FIELDS, "client_state", "client_state_text", "activity", "conversation", "insights", "dtmf",
                  "transcript", "timeline"]
        read_only_fields = fields

    def _masked(self) -> bool:
        request = self.context.get("request")
        return not voice_content.may_hear(getattr(request, "user", None))

    def get_conversation(self, call) -> dict:
        return voice_content.mask_payload(call.conversation, force=self._masked())

    def get_insights(self, call) -> list:
        return voice_content.mask_payload(call.insights, force=self._masked())

    def get_dtmf(self, call) -> str:
        return selectors.call_dtmf(call, masked=self._masked())

    def get_transcript(self, call) -> dict:
        t = selectors.call_transcript(call)
        final = TranscriptFragmentSerializer(t["lines"], many=True).data
        interim = TranscriptFragmentSerializer(t["interim"], many=True).data
        if self._masked():
            final, interim = [{**f, "text": voice_content.HIDDEN} for f in final], [{**f, "text": voice_content.HIDDEN} for f in interim]
        return {"final": final, "interim": interim}

    def get_timeline(self, call) -> list[dict]:
        items = selectors.call_timeline(call, masked=self._masked())["items"]
        return TimelineItemSerializer([_timeline_item(i) for i in items], many=True).data
