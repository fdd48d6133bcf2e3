"""Serializers for queues, queued callers and queue metrics."""
from rest_framework import serializers

from portal.commands.actions import UNKNOWN_PARAMETER, undeclared_params
from queues.models import Queue, QueuedCall


class QueueSerializer(serializers.ModelSerializer):
    waiting_now = serializers.IntegerField(source="waiting", read_only=True, help_text="Alive callers in line now.")
    waiting_since = serializers.DateTimeField(
        source="oldest", read_only=True, allow_null=True, help_text="When the caller at the front of the line entered it."
    )
    telnyx_average_wait_secs = serializers.IntegerField(
        source="average_wait_secs", read_only=True, allow_null=True,
        help_text="Telnyx's own average wait for the queue, as last reported (not the longest wait now).",
    )

    class Meta:
        model = Queue
        fields = [
            "name", "telnyx_id", "max_size", "current_size", "waiting_now", "waiting_since", "telnyx_average_wait_secs",
            "average_wait_reported_at", "service_level_target_secs", "service_level_goal_percent", "created_at",
            "updated_at", "deleted_at",
        ]
        read_only_fields = fields


class QueuedCallSerializer(serializers.ModelSerializer):
    queue = serializers.SlugRelatedField(slug_field="name", read_only=True)
    from_number = serializers.SerializerMethodField()
    to_number = serializers.SerializerMethodField()

    class Meta:
        model = QueuedCall
        fields = [
            "queue", "call_control_id", "call_leg_id", "call_session_id", "from_number", "to_number", "position",
            "enqueued_at", "left_at", "leave_reason", "wait_time_secs", "is_alive", "keep_after_hangup",
        ]
        read_only_fields = fields

    def get_from_number(self, stay) -> str:
        return getattr(stay, "caller_from", None) or stay.from_number

    def get_to_number(self, stay) -> str:
        return getattr(stay, "caller_to", None) or stay.to_number


class QueuePatchSerializer(serializers.Serializer):
    """PATCH body: max_size goes to Telnyx (a command); the service-level fields are the portal's own."""

    max_size = serializers.IntegerField(required=False, min_value=1)
    service_level_target_secs = serializers.IntegerField(required=False, min_value=1, max_value=3600)
    service_level_goal_percent = serializers.IntegerField(required=False, min_value=1, max_value=100)

    def validate(self, attrs):
        unknown = undeclared_params(self, self.initial_data)
        if unknown:  # refused, not dropped, as at every action door (issue 30)
            raise serializers.ValidationError({name: [UNKNOWN_PARAMETER] for name in unknown})
        if not attrs:
            raise serializers.ValidationError("Give max_size, service_level_target_secs or service_level_goal_percent.")
        return attrs


class QueueMetricsSerializer(serializers.Serializer):
    queue = serializers.CharField()
    window = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    offered = serializers.IntegerField()
    answered = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    timed_out = serializers.IntegerField()
    finished = serializers.IntegerField(help_text="Callers who finished waiting (any outcome).")
    abandon_rate = serializers.FloatField(allow_null=True, help_text="Percent of offered callers who hung up while waiting.")
    average_wait_secs = serializers.FloatField(allow_null=True)
    p90_wait_secs = serializers.IntegerField(allow_null=True, help_text="Nearest-rank 90th percentile.")
    max_wait_secs = serializers.IntegerField(allow_null=True)
    target_secs = serializers.IntegerField()
    answered_within_target = serializers.IntegerField()
    service_level = serializers.FloatField(allow_null=True, help_text="Percent answered within target of those who finished.")
    goal_percent = serializers.IntegerField()
    service_state = serializers.CharField(help_text="ok, warn, bad or none.")
    calls_per_hour = serializers.FloatField()
    waiting_now = serializers.IntegerField()
    longest_wait_now_secs = serializers.IntegerField(allow_null=True)
