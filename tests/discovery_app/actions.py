"""Declared with no import from apps.py."""
from django.contrib.auth.models import Group
from rest_framework import serializers

from portal.commands.actions import Action, TargetKind, register, register_kind


class PingParams(serializers.Serializer):
    loudness = serializers.ChoiceField(choices=["soft", "loud"], help_text="How loud.")


register_kind(TargetKind(name="widget", plural="widgets", model=Group, lookup_field="name",
                         view_permission="auth.view_group"))
register(Action(name="widget.ping", sdk="client.calls.actions.speak", label="Ping", permission="auth.change_group",
                target_kind="widget", target_param="call_control_id", params=PingParams))
