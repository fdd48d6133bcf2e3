"""Reads of webhook events for the pages and the admin."""
import django_filters
from django.db.models import Count

from webhooks.models import WebhookEvent


def event_queryset():
    """Events newest first, without the raw body (pages never show it in lists)."""
    return WebhookEvent.objects.defer("raw_body")


def event_type_choices():
    return [(t, t) for t in WebhookEvent.objects.order_by().values_list("event_type", flat=True).distinct()]


class EventFilter(django_filters.FilterSet):
    """Filters of the Events page."""

    event_type = django_filters.CharFilter(label="Type")
    status = django_filters.ChoiceFilter(choices=WebhookEvent.Status.choices)
    call_control_id = django_filters.CharFilter(label="Call")
    conference_id = django_filters.CharFilter(label="Conference")
    queue_name = django_filters.CharFilter(label="Queue")

    class Meta:
        model = WebhookEvent
        fields = ["event_type", "status", "call_control_id", "conference_id", "queue_name"]


def status_counts() -> dict[str, int]:
    return dict(WebhookEvent.objects.order_by().values_list("status").annotate(n=Count("id")))
