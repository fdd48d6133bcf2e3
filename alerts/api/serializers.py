"""Serializers for alert rules, channels and alerts: explicit input and output, the secret write-only."""
from rest_framework import serializers

from alerts.models import Alert, AlertChannel, AlertRule
from alerts.validation import scope_error, target_error
from portal.commands.actions import UNKNOWN_PARAMETER, undeclared_params
from queues.models import Queue


class RefuseUnknown:
    """Refuses fields it does not know (400), as every door of the API does (issue 30)."""

    def validate(self, attrs):
        unknown = undeclared_params(self, self.initial_data)
        if unknown:
            raise serializers.ValidationError({name: [UNKNOWN_PARAMETER] for name in unknown})
        return attrs


class StrictSerializer(RefuseUnknown, serializers.ModelSerializer):
    """A model serializer that refuses unknown fields."""


class AlertRuleSerializer(StrictSerializer):
    queue = serializers.SlugRelatedField(
        slug_field="name", queryset=Queue.objects.filter(deleted_at__isnull=True), required=False, allow_null=True,
        help_text="The queue's name; empty = every queue (queue metrics) or the system.",
    )
    channels = serializers.PrimaryKeyRelatedField(
        many=True, queryset=AlertChannel.objects.all(), required=False, help_text="Channel ids."
    )
    for_secs = serializers.IntegerField(min_value=0, max_value=86400, required=False, default=60)

    class Meta:
        model = AlertRule
        fields = ["id", "name", "metric", "queue", "operator", "threshold", "for_secs", "severity", "channels", "enabled",
                  "is_default", "created_at"]
        read_only_fields = ["id", "is_default", "created_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        metric = attrs.get("metric", getattr(self.instance, "metric", None))
        queue = attrs.get("queue", getattr(self.instance, "queue", None))
        if error := scope_error(metric, queue):
            raise serializers.ValidationError({"queue": [error]})
        return attrs


class AlertChannelSerializer(StrictSerializer):
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                   style={"input_type": "password"},
                                   help_text="Webhook signing secret; stored encrypted, never shown again.")
    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "kind", "target", "secret", "has_secret", "send_on_acknowledge", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        target = attrs.get("target", getattr(self.instance, "target", ""))
        if ("target" in attrs or "kind" in attrs) and (error := target_error(kind, target)):
            raise serializers.ValidationError({"target": [error]})
        return attrs


class AlertSerializer(serializers.ModelSerializer):
    queue = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    rule = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="Empty once the rule is deleted.")
    where = serializers.CharField(read_only=True)
    duration_secs = serializers.IntegerField(read_only=True, allow_null=True, help_text="How long it lasted, once resolved.")

    class Meta:
        model = Alert
        fields = ["id", "rule", "rule_name", "severity", "status", "scope", "queue", "where", "metric", "operator",
                  "threshold", "value", "opened_at", "acknowledged_at", "acknowledged_by", "note", "resolved_at",
                  "duration_secs"]
        read_only_fields = fields


class AcknowledgeSerializer(RefuseUnknown, serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
