"""API for commands: the audit list, and the one serializer every action endpoint answers with."""
from django.urls import reverse
from rest_framework import serializers, viewsets

from portal.commands.selectors import CommandFilter, command_queryset
from portal.models import Command


class CommandSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Command
        fields = [
            "id", "action", "target", "params", "command_id", "status", "attempts", "response", "error",
            "requested_by", "door", "retry_of", "created_at", "started_at", "finished_at", "status_url",
        ]
        read_only_fields = fields

    def get_status_url(self, command) -> str:
        path = reverse("api:command-detail", args=[command.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_error(self, command) -> dict | None:
        if not (command.error_title or command.error_detail):
            return None
        return {"status": command.error_status, "title": command.error_title, "detail": command.error_detail}


class CommandViewSet(viewsets.ReadOnlyModelViewSet):
    """Every command ever issued, newest first."""

    serializer_class = CommandSerializer
    filterset_class = CommandFilter
    queryset = command_queryset()


def command_accepted(request, *, action_name: str, target: str, params: dict, door: str = Command.Door.API):
    """Issue an action from the API and answer 202 with the command (400/403 come from the handler)."""
    from rest_framework import status
    from rest_framework.response import Response

    from portal.commands import services

    command = services.command_issue(action_name=action_name, target=target, params=params, user=request.user, door=door)
    body = CommandSerializer(command, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})
