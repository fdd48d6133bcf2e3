"""Reads of webhook events for the pages, the admin and the API."""
from datetime import datetime, timedelta

import django_filters
from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from portal import voice_content
from portal.filters import MomentFilter, TimeRangeFilterSet, start_of
from webhooks.models import WebhookEvent

# An event arrives after it occurred (redeliveries later still): a read from a moment on may skip
# everything received a day before it, so PostgreSQL reads only the partitions from then on (issue 32).
ARRIVAL_MARGIN = timedelta(days=1)


def received_since(queryset, moment: datetime | None):
    """`queryset` bounded to events received no earlier than ARRIVAL_MARGIN before `moment` (None: unbounded)."""
    return queryset if moment is None else queryset.filter(received_at__gte=moment - ARRIVAL_MARGIN)


class SinceFilter(MomentFilter):
    """`since` on events: when it occurred (else arrived), plus the arrival bound that prunes partitions."""

    def filter(self, qs, value):
        filtered = super().filter(qs, value)
        if value in (None, ""):
            return filtered
        try:
            moment = value if isinstance(value, datetime) else start_of(value)
        except (OverflowError, ValueError):
            return filtered  # the calendar's edge: the parent already answered all or nothing
        return received_since(filtered, moment)


def event_queryset():
    """Events newest first, without the raw body (pages never show it in lists)."""
    return WebhookEvent.objects.defer("raw_body")


class EventFilter(TimeRangeFilterSet):
    """Filters of the Events page and GET /api/v1/events/ (since / until: when it occurred, else arrived).

    Telnyx's time when it sent one; a few event types carry none, and then arrival is the best we know.
    """

    time_field = "occurred_at"
    time_fallback_field = "received_at"

    event_type = django_filters.CharFilter(method="filter_event_type", label="Type", help_text="Exact type, or a prefix ending in '.' (conference.).")
    status = django_filters.ChoiceFilter(choices=WebhookEvent.Status.choices)
    since = SinceFilter(bound="start", label="Since")
    until = MomentFilter(bound="end", label="Until")
    call_control_id = django_filters.CharFilter(label="Call")
    conference_id = django_filters.CharFilter(label="Conference")
    queue_name = django_filters.CharFilter(label="Queue")

    class Meta:
        model = WebhookEvent
        fields = ["event_type", "status", "since", "until", "call_control_id", "conference_id", "queue_name"]

    def filter_event_type(self, queryset, name, value):
        return queryset.filter(event_type__startswith=value) if value.endswith(".") else queryset.filter(event_type=value)


def payload_for(event, user) -> dict:
    """The payload as `user` may see it: content (digits, transcripts, recording links) only for listeners."""
    return voice_content.mask_payload(event.payload, user)


def webhook_backlog() -> dict:
    """Pending events, the age of the oldest (the processing lag), and failures in the last hour."""
    now = timezone.now()
    count = settings.WEBHOOK_PARTITIONS
    partitions = [{"partition": p, "pending": 0, "oldest": None} for p in range(count)]
    rows = (
        WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).order_by()
        .values("partition").annotate(count=Count("id"), oldest=Min("received_at"))
    )
    for row in rows:  # a value stored under a larger WEBHOOK_PARTITIONS is applied as value % count
        into = partitions[row["partition"] % count]
        into["pending"] += row["count"]
        into["oldest"] = min(filter(None, [into["oldest"], row["oldest"]]), default=None)
    for row in partitions:
        row["lag_seconds"] = max(0.0, (now - row["oldest"]).total_seconds()) if row["oldest"] else 0.0
    oldest = min(filter(None, (row["oldest"] for row in partitions)), default=None)
    return {
        "pending": sum(row["pending"] for row in partitions),
        "oldest_pending_at": oldest,
        "lag_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        "partitions": partitions,  # per drain partition (issue 25): which part of the work lags
        "failed_last_hour": WebhookEvent.objects.filter(
            status=WebhookEvent.Status.FAILED, received_at__gte=now - timezone.timedelta(hours=1)
        ).count(),
    }
