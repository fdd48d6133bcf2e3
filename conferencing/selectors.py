"""Reads of conferences for pages, the admin and the API."""
import django_filters
from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When

from conferencing.models import Conference, Participant
from portal.models import Command

PRESENT = [Participant.Status.JOINING, Participant.Status.JOINED]


def conference_queryset():
    """Conferences with their present participants counted; active first, then recent."""
    return Conference.objects.annotate(
        participants_now=Count("participants", filter=Q(participants__status__in=PRESENT)),
        finished=Case(When(status=Conference.Status.COMPLETED, then=Value(1)), default=Value(0), output_field=IntegerField()),
    ).order_by("finished", "-created_at", "-id")


class ConferenceFilter(django_filters.FilterSet):
    """Filters for the Conferences page and GET /api/v1/conferences/."""

    status = django_filters.ChoiceFilter(choices=Conference.Status.choices)
    q = django_filters.CharFilter(method="search", label="Name")
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="From")
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="To")

    class Meta:
        model = Conference
        fields = ["status", "q", "since", "until"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(conference_id__icontains=value))


def conference_list(limit: int = 100):
    return conference_queryset()[:limit]


def conference_with_roster(conference_id: str):
    """One conference with its participants (present first) and recent commands."""
    return (
        conference_queryset()
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=Participant.objects.annotate(
                    gone=Case(When(status=Participant.Status.LEFT, then=Value(1)), default=Value(0), output_field=IntegerField())
                ).order_by("gone", "joined_at", "id"),
            )
        )
        .filter(conference_id=conference_id)
        .first()
    )


def conference_timeline(conference: Conference, limit: int = 200) -> list[dict]:
    """Stored webhook events and commands on this conference, newest first."""
    from webhooks.models import WebhookEvent

    events = WebhookEvent.objects.filter(conference_id=conference.conference_id).defer("raw_body")[:limit]
    commands = Command.objects.filter(target=conference.conference_id).select_related("requested_by")[:limit]
    items = [
        {"at": e.occurred_at or e.received_at, "kind": "event", "title": e.event_type, "object": e} for e in events
    ] + [{"at": c.created_at, "kind": "command", "title": c.action, "object": c} for c in commands]
    return sorted(items, key=lambda item: item["at"], reverse=True)[:limit]


def known_call_legs(limit: int = 100):
    """Active call legs the portal knows, for the join picker."""
    from calls.models import Call

    return Call.objects.exclude(state=Call.State.HANGUP).order_by("-started_at")[:limit]
