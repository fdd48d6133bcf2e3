"""API for commands: the audit list, the one action door for every kind, and the command serializer."""
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

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
            "local_error", "requested_by", "door", "retry_of", "created_at", "started_at", "finished_at", "status_url",
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


class ActionView(APIView):
    """`POST /api/v1/<kind>/{id}/actions/{action}/`: issue any declared action; 202 with the command.

    The body is Telnyx's parameters for that action (endpoints.md); unknown kinds, actions or targets
    are 404, invalid parameters 400 with field messages, missing permissions 403 (from the service).
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("plural", str, OpenApiParameter.PATH, description="conferences, calls, queues, recordings"),
            OpenApiParameter("target", str, OpenApiParameter.PATH, description="The target's Telnyx id or name."),
            OpenApiParameter("action", str, OpenApiParameter.PATH, description="Telnyx's own path name of the action."),
        ],
        request=None,
        responses={202: CommandSerializer},
    )
    def post(self, request, plural, target, action):
        from portal.commands import actions

        kind = actions.kind_by_plural(plural)
        declared = actions.action_for(kind, action) if kind else None
        if declared is None:
            raise Http404(f"Unknown action {action!r} for {plural}.")
        if kind.find(target) is None:
            raise Http404(f"No such {kind.name} {target!r}.")
        return command_accepted(request, action_name=declared.name, target=target, params=request.data)
