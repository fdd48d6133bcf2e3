"""/api/v1/events/: every webhook Telnyx delivered, newest first, filtered like the Events page."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from webhooks.api.serializers import EventSerializer
from webhooks.models import WebhookEvent
from webhooks.selectors import EventFilter, event_queryset


@extend_schema_view(
    retrieve=extend_schema(parameters=[
        OpenApiParameter("id", str, OpenApiParameter.PATH, description="The portal's numeric id or Telnyx's event id."),
    ]),
)
class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """Stored webhook events with their processing status (read permission: webhooks.view_webhookevent)."""

    serializer_class = EventSerializer
    filterset_class = EventFilter
    lookup_value_regex = "[^/]+"
    queryset = WebhookEvent.objects.none()  # for the model permission check; reads use the selector

    def get_queryset(self):
        return event_queryset()

    def get_object(self):
        # Telnyx's ids are UUIDs, never all digits, so one path segment can carry either id. ASCII digits
        # only, and few enough for a bigint: "²".isdigit() is true but int() refuses it (a 500, issue 23).
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        numeric = value.isascii() and value.isdigit() and len(value) <= 18
        lookup = {"pk": int(value)} if numeric else {"event_id": value}
        event = get_object_or_404(self.get_queryset(), **lookup)
        self.check_object_permissions(self.request, event)
        return event
