"""API for commands: the audit list, the one action door for every kind, and the command serializer."""
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from portal.commands.selectors import CommandFilter, command_queryset
from portal.models import Command


class CommandSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
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


class MessageSerializer(serializers.Serializer):
    """Every error but a 400 (README "API")."""

    message = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: what was wrong, by field (`non_field_errors` for the whole body)."""

    message = serializers.CharField()
    extra = FieldErrorsSerializer()


class CommandViewSet(viewsets.ReadOnlyModelViewSet):
    """Every command ever issued, newest first."""

    serializer_class = CommandSerializer
    filterset_class = CommandFilter
    queryset = command_queryset()


def body_text(request, name: str) -> str:
    """One field of the body as text ("" when absent or when the body is not an object: validation says why)."""
    value = request.data.get(name, "") if hasattr(request.data, "get") else ""
    return value if isinstance(value, str) else ""


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
    are 404, invalid or undeclared parameters 400 with field messages, missing permissions 403 (from
    the service). This generic route answers for names no declaration has; each declared action has
    its own route (`action_routes`) so that the schema documents its body.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(exclude=True)
    def post(self, request, plural, target, action):
        from portal.commands import actions

        kind = actions.kind_by_plural(plural)
        declared = actions.action_for(kind, action) if kind else None
        if declared is None:
            raise Http404(f"Unknown action {action!r} for {plural}.")
        return issue_action(request, kind, declared, target)


def issue_action(request, kind, declared, target: str):
    if kind.find(target) is None:
        raise Http404(f"No such {kind.name} {target!r}.")
    return command_accepted(request, action_name=declared.name, target=target, params=request.data)


ERRORS = {
    400: OpenApiResponse(ValidationErrorSerializer, description="Invalid or undeclared parameters, by field."),
    403: OpenApiResponse(MessageSerializer, description="Missing the action's permission."),
    404: OpenApiResponse(MessageSerializer, description="No such target."),
}


def action_view(kind, declared):
    """A view for one declared action, its request body documented from the declaration's serializer."""
    # A subclass named after the action: two apps may both call their parameters "HoldParams".
    body = type(f"{kind.name.title()}{declared.short_name.title().replace('_', '')}Request", (declared.params,), {})

    @extend_schema(
        operation_id=f"{kind.plural}_actions_{declared.short_name}",
        summary=declared.label,
        description=declared.description or declared.label,
        tags=[kind.plural],
        parameters=[OpenApiParameter("target", str, OpenApiParameter.PATH, description=f"The {kind.name}'s id (Telnyx's).")],
        request=body,
        responses={202: CommandSerializer, **ERRORS},
    )
    def post(self, request, target):
        return issue_action(request, kind, declared, target)

    return type(f"{body.__name__}View", (APIView,), {
        "permission_classes": [IsAuthenticated], "post": post, "__doc__": declared.description or declared.label,
    }).as_view()


def action_routes() -> list:
    """One route per declared action: `<plural>/<target>/actions/<short name>/`."""
    from django.urls import path

    from portal.commands import actions

    return [
        path(f"{kind.plural}/<str:target>/actions/{declared.short_name}/", action_view(kind, declared),
             name=f"action-{kind.name}-{declared.short_name}")
        for kind in actions.all_kinds()
        for declared in actions.for_kind(kind.name)
        if actions.action_for(kind, declared.short_name) is declared
    ]
