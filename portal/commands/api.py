"""API for commands: the audit list, the one action door for every kind, and the command serializer."""
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.commands import actions, idempotency, services
from portal.commands.selectors import CommandFilter, command_queryset
from portal.models import Command

IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Send the request once: the same key from the same user within 24 h answers 200 with the "
    "command the first request issued and sends nothing again; with another body, 422.",
)


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
        location = reverse("api:command-detail", args=[command.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(location) if request else location

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


class KeyReusedSerializer(serializers.Serializer):
    """A 422: the Idempotency-Key was used before with another request (its commands listed)."""

    message = serializers.CharField()
    extra = inline_serializer("KeyReusedExtra", {"commands": serializers.ListField(child=serializers.CharField())})


class CommandViewSet(viewsets.ReadOnlyModelViewSet):
    """Every command ever issued, newest first."""

    serializer_class = CommandSerializer
    filterset_class = CommandFilter
    queryset = command_queryset()

    def get_permissions(self):
        # Retrying is a command: the service checks portal.retry_command, as for pages and admin.
        return [IsAuthenticated()] if self.action == "retry" else super().get_permissions()

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=None, responses={202: CommandSerializer, 200: CommandSerializer})
    @route(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Issue a failed or outcome-unknown command again, deliberately: 202 with the new command (linked by retry_of)."""
        original = self.get_object()
        if not request.user.has_perm("portal.retry_command"):
            raise PermissionDenied("You do not have permission to retry commands.")
        if not original.can_be_retried:
            raise ValidationError({"status": [f"Only failed or outcome-unknown commands can be retried; this one is {original.status}."]})

        def retry():
            issued = services.commands_retry(queryset=Command.objects.filter(pk=original.pk), user=request.user,
                                             door=Command.Door.API)
            if not issued:
                raise ValidationError({"action": [f"{original.action} is no longer declared."]})
            return issued

        return issue_once(request, retry)


def issue_once(request, issue) -> Response:
    """Run `issue` (returning the commands it issued) under the request's Idempotency-Key, if any.

    202 with the first command; a repeat of the same request within 24 h answers 200 with the same
    command (header `Idempotent-Replayed: true`) and sends nothing; the key with another body is 422.
    """
    key = request.headers.get(idempotency.HEADER)
    if key is not None and not idempotency.valid_key(key):
        raise ValidationError({idempotency.HEADER: ["Use 1 to 255 printable ASCII characters."]})
    data = request.data
    body = {k: data.getlist(k) for k in data} if hasattr(data, "getlist") else data
    try:
        commands, replayed = idempotency.once(
            user=request.user, key=f"api:{key}" if key else None,
            fingerprint=idempotency.fingerprint(request.method, request.path, body), issue=issue,
        )
    except idempotency.KeyReused as exc:
        extra = {"commands": [reverse("api:command-detail", args=[c.pk]) for c in exc.commands]}
        return Response({"message": str(exc), "extra": extra}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    document = CommandSerializer(commands[0], context={"request": request}).data
    headers = {"Location": document["status_url"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(document, status=status.HTTP_200_OK if replayed else status.HTTP_202_ACCEPTED, headers=headers)


def body_text(request, name: str) -> str:
    """One field of the body as text ("" when absent or when the body is not an object: validation says why)."""
    value = request.data.get(name, "") if hasattr(request.data, "get") else ""
    return value if isinstance(value, str) else ""


def command_accepted(request, *, action_name: str, target: str, params: dict, door: str = Command.Door.API):
    """Issue an action from the API and answer 202 with the command (400/403 come from the handler).

    Honours `Idempotency-Key` (`issue_once`): a client's retry or a double click issues nothing twice.
    """
    return issue_once(request, lambda: [
        services.command_issue(action_name=action_name, target=target, params=params, user=request.user, door=door)
    ])


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
    422: OpenApiResponse(KeyReusedSerializer, description="The Idempotency-Key came before with another request."),
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
        parameters=[
            OpenApiParameter("target", str, OpenApiParameter.PATH, description=f"The {kind.name}'s id (Telnyx's)."),
            IDEMPOTENCY_KEY,
        ],
        request=body,
        responses={202: CommandSerializer, 200: OpenApiResponse(CommandSerializer, description="A repeat of the same "
                   "request under the same Idempotency-Key: the same command, nothing sent again."), **ERRORS},
    )
    def post(self, request, target):
        return issue_action(request, kind, declared, target)

    return type(f"{body.__name__}View", (APIView,), {
        "permission_classes": [IsAuthenticated], "post": post, "__doc__": declared.description or declared.label,
    }).as_view()


def action_routes() -> list:
    """One route per declared action: `<plural>/<target>/actions/<short name>/`."""
    return [
        path(f"{kind.plural}/<str:target>/actions/{declared.short_name}/", action_view(kind, declared),
             name=f"action-{kind.name}-{declared.short_name}")
        for kind in actions.all_kinds()
        for declared in actions.for_kind(kind.name)
        if actions.action_for(kind, declared.short_name) is declared
    ]
