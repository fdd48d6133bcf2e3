"""/api/v1/queues/: read queues, their callers and metrics; manage them through commands (202)."""
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.commands.api import CommandSerializer, body_text, command_accepted
from queues import figures, selectors, services
from queues.actions import QueueCreateParams, QueuedCallUpdateParams
from queues.api.renderers import CSVRenderer
from queues.api.serializers import (
    QueuedCallSerializer,
    QueueMetricsSerializer,
    QueuePatchSerializer,
    QueueSerializer,
)
from queues.models import Queue, QueuedCall

WINDOW = OpenApiParameter("window", str, enum=list(figures.WINDOWS), description="hour, today (portal time zone) or 7d.")


class QueueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Queues on Telnyx with callers waiting now. Writes are commands and answer 202 with the command."""

    serializer_class = QueueSerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    queryset = Queue.objects.none()
    filterset_class = selectors.QueueFilter

    def get_queryset(self):
        if self.action == "calls":  # the list of one queue's stays, filtered by QueuedCallFilter
            return selectors.with_numbers(self.get_object().calls.order_by("position", "enqueued_at", "pk"))
        return selectors.queue_queryset(include_deleted=True)  # QueueFilter leaves deleted ones out of the list

    def get_object(self):
        """One queue by name, deleted or not: the list's filters do not apply to it."""
        queue = get_object_or_404(selectors.queue_queryset(include_deleted=True), name=self.kwargs["name"])
        self.check_object_permissions(self.request, queue)
        return queue

    def get_permissions(self):
        from portal.permissions import ModelPermissions

        # Writes are commands or portal settings: the services check their own permissions.
        if self.request.method in ("POST", "PATCH", "DELETE"):
            return [IsAuthenticated()]
        return [ModelPermissions()]

    @extend_schema(request=QueueCreateParams, responses={202: CommandSerializer})
    def create(self, request, *args, **kwargs):
        """Create a queue on Telnyx (`queue_name`, optional `max_size`)."""
        return command_accepted(
            request, action_name="queue.create", target=body_text(request, "queue_name"), params=request.data
        )

    @extend_schema(request=QueuePatchSerializer, responses={200: QueueSerializer, 202: CommandSerializer})
    def partial_update(self, request, *args, **kwargs):
        """`max_size` is sent to Telnyx (202 with the command); the service-level target and goal apply at once (200)."""
        queue = self.get_object()
        body = QueuePatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "service_level_target_secs" in data or "service_level_goal_percent" in data:
            services.queue_set_service_level(
                queue=queue, user=request.user, target_secs=data.get("service_level_target_secs"),
                goal_percent=data.get("service_level_goal_percent"),
            )
        if "max_size" in data:
            return command_accepted(request, action_name="queue.update", target=queue.name, params={"max_size": data["max_size"]})
        return Response(QueueSerializer(self.get_object()).data)

    @extend_schema(
        parameters=[OpenApiParameter("force", bool, description="Delete even though callers are waiting.")],
        request=None, responses={202: CommandSerializer},
    )
    def destroy(self, request, *args, **kwargs):
        """Delete the queue on Telnyx; refused (400) while callers wait unless `force=true` (query or body)."""
        queue = self.get_object()
        force = request.query_params.get("force", request.data.get("force") if isinstance(request.data, dict) else None)
        params = {"force": force} if force not in (None, "") else {}
        return command_accepted(request, action_name="queue.delete", target=queue.name, params=params)

    @extend_schema(responses=QueuedCallSerializer(many=True))
    @route(detail=True, methods=["get"], filterset_class=selectors.QueuedCallFilter, queryset=QueuedCall.objects.none())
    def calls(self, request, name=None):
        """Callers in line now by place (or, with `status`, the ones who left, newest first)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(QueuedCallSerializer(page, many=True).data)

    @extend_schema(request=QueuedCallUpdateParams, responses={202: CommandSerializer})
    @route(detail=True, methods=["delete", "patch"], url_path=r"calls/(?P<call_control_id>[^/]+)")
    def call(self, request, name=None, call_control_id=None):
        """DELETE force-removes an inactive call; PATCH changes its keep_after_hangup (both 202 with the command)."""
        queue = self.get_object()
        if not queue.calls.filter(call_control_id=call_control_id).exists():
            raise Http404(f"No call {call_control_id!r} in queue {queue.name!r}.")
        if request.method == "DELETE":
            return command_accepted(request, action_name="queue.remove_call", target=queue.name,
                                    params={"call_control_id": call_control_id})
        params = {**(request.data if isinstance(request.data, dict) else {}), "call_control_id": call_control_id}
        return command_accepted(request, action_name="queue.update_call", target=queue.name, params=params)

    @extend_schema(parameters=[WINDOW], responses=QueueMetricsSerializer)
    @route(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CSVRenderer], filter_backends=[])
    def metrics(self, request, name=None):
        """Service metrics over a window (`?format=csv` for the same as CSV)."""
        queue = self.get_object()
        window = request.query_params.get("window", "today")
        if window not in figures.WINDOWS:
            raise ValidationError({"window": [f"Use one of: {', '.join(figures.WINDOWS)}."]})
        data = figures.queue_metrics(window=window, queues=[queue])[queue.pk].as_dict()
        response = Response(QueueMetricsSerializer(data).data, status=status.HTTP_200_OK)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="queue-metrics-{window}.csv"'
        return response
