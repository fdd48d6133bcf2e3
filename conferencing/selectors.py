"""Reads of conferences for pages, the admin and the API."""
from __future__ import annotations

from datetime import datetime

import django_filters
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from calls.models import Call
from conferencing.labels import leg_label
from conferencing.models import Conference, Participant
from portal.filters import TimeRangeFilterSet
from portal.models import Command
from recordings.models import Recording
from webhooks.models import WebhookEvent
from webhooks.selectors import received_since

PRESENT = [Participant.Status.JOINING, Participant.Status.JOINED]
PAGE_SIZE = 50
TIMELINE_LIMIT = 100
FLOOR_CHANGED = "conference.floor.changed"
ACTIVE = "active"  # the status filter's value for conferences not completed, as the dashboard counts them


def conference_queryset():
    """Conferences with their present participants and saved recordings counted; active first, then recent."""
    recordings = (
        Recording.objects.filter(conference_id=OuterRef("conference_id"))
        .order_by().values("conference_id").annotate(n=Count("id")).values("n")
    )
    present = (
        Participant.objects.filter(conference_id=OuterRef("pk"), status__in=PRESENT)
        .order_by().values("conference_id").annotate(n=Count("id")).values("n")
    )
    # Correlated counts, not a JOIN + GROUP BY: the database sorts and limits first and counts only the
    # page's rows (the aggregate made /conferences/ take ~740 ms at 10,000 conferences; bench/README.md).
    return Conference.objects.annotate(
        participants_now=Coalesce(Subquery(present, output_field=IntegerField()), Value(0)),
        recordings_count=Coalesce(Subquery(recordings, output_field=IntegerField()), Value(0)),
        finished=Case(When(status=Conference.Status.COMPLETED, then=Value(1)), default=Value(0), output_field=IntegerField()),
    ).order_by("finished", "-created_at", "-id")


class ConferenceFilter(TimeRangeFilterSet):
    """Filters for the Conferences page and GET /api/v1/conferences/ (since / until: when it was created)."""

    time_field = "created_at"

    # "active" is what the dashboard counts as active: starting or in progress, i.e. not completed (issue 26).
    status = django_filters.ChoiceFilter(choices=[(ACTIVE, "Active (starting or in progress)"), *Conference.Status.choices],
                                         method="filter_status")
    q = django_filters.CharFilter(method="search", label="Name")

    class Meta:
        model = Conference
        fields = ["status", "q", "since", "until"]

    def filter_status(self, queryset, name, value):
        if value == ACTIVE:
            return queryset.exclude(status=Conference.Status.COMPLETED)
        return queryset.filter(status=value)

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(conference_id__icontains=value))


class ParticipantFilter(TimeRangeFilterSet):
    """GET /api/v1/conferences/{id}/participants/ (since / until: when they joined)."""

    time_field = "joined_at"
    status = django_filters.ChoiceFilter(choices=Participant.Status.choices)
    q = django_filters.CharFilter(method="search", label="Number, SIP name or call id")

    class Meta:
        model = Participant
        fields = ["status", "q", "since", "until"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(label__icontains=value) | Q(call_control_id__icontains=value))


def conference_participants(conference_id: str):
    """One conference's participants in the order they joined (the API's participants list)."""
    return Participant.objects.filter(conference__conference_id=conference_id).order_by("joined_at", "id")


def conference_list(limit: int = PAGE_SIZE):
    """The unfiltered first page of the Conferences list (what live updates re-render)."""
    return conference_queryset()[:limit]


def _roster():
    # The leg's own state says whether someone rung in is still ringing, and why they never joined (issue 28).
    leg = Call.objects.filter(call_control_id=OuterRef("call_control_id"))
    return Prefetch(
        "participants",
        queryset=Participant.objects.annotate(
            gone=Case(When(status=Participant.Status.LEFT, then=Value(1)), default=Value(0), output_field=IntegerField()),
            leg_state=Subquery(leg.values("state")[:1]),
            leg_hangup_cause=Subquery(leg.values("hangup_cause")[:1]),
        ).order_by("gone", "joined_at", "id"),
    )


def conference_with_roster(conference_id: str):
    """One conference with its participants (present first)."""
    return conference_queryset().prefetch_related(_roster()).filter(conference_id=conference_id).first()


def conference_recordings(conference: Conference):
    """Recordings Telnyx saved of this conference, newest first."""
    return Recording.objects.filter(conference_id=conference.conference_id).order_by("-saved_at", "-id")


def _when(event) -> datetime:
    return event.occurred_at or event.received_at


def conference_timeline(conference: Conference, limit: int = TIMELINE_LIMIT) -> dict:
    """The conference's story, newest first: webhook events and portal commands, one line each.

    A command is one line whatever its status (it changes in place). Runs of conference.floor.changed
    fold into one line ("speaker changed ×N, now Alice"): the roster's speaker highlight says the rest.
    Returns {"items": [...], "truncated": bool}; each item has "kind" (event, command, floor) and "at".
    """
    # Nothing of it arrived before it was created: PostgreSQL reads only the partitions since (issue 32).
    events = received_since(WebhookEvent.objects.filter(conference_id=conference.conference_id), conference.created_at).order_by(
        F("occurred_at").desc(nulls_last=True), "-received_at", "-id"
    )
    others = list(events.exclude(event_type=FLOOR_CHANGED).defer("raw_body")[:limit])
    # Floor changes come every few seconds: fetched apart (and without payloads) so they cannot crowd out the rest.
    floors = list(events.filter(event_type=FLOOR_CHANGED).only("id", "event_type", "occurred_at", "received_at", "call_control_id")[:limit])
    commands = list(
        Command.objects.filter(
            Q(target=conference.conference_id)
            | Q(action="conference.create", response__data__id=conference.conference_id)
        ).select_related("requested_by")[:limit]
    )
    # Below the oldest line of a list that hit its limit, that list may be missing lines: cut there.
    cutoff = max(
        [_when(rows[-1]) for rows in (others, floors) if len(rows) == limit]
        + ([commands[-1].created_at] if len(commands) == limit else []),
        default=None,
    )
    names = {p.call_control_id: p.display_name for p in conference.participants.all()}
    lines = [{"kind": "event", "at": _when(e), "object": e, "who": names.get(e.call_control_id, "")} for e in others]
    lines += [{"kind": "floor", "at": _when(e), "object": e, "who": names.get(e.call_control_id, "")} for e in floors]
    lines += [{"kind": "command", "at": c.created_at, "object": c} for c in commands]
    lines.sort(key=lambda line: (line["at"], line["object"].pk), reverse=True)
    truncated = cutoff is not None and any(line["at"] < cutoff for line in lines)
    items: list[dict] = []
    for line in lines:
        if cutoff is not None and line["at"] < cutoff:
            break
        previous = items[-1] if items else None
        if line["kind"] == "floor" and previous and previous["kind"] == "floor":
            previous["count"] += 1
            previous["since"] = line["at"]
            continue
        if line["kind"] == "floor":
            line.update(count=1, since=line["at"])
        items.append(line)
    return {"items": items[:limit], "truncated": truncated or len(items) > limit}


def known_call_legs(limit: int = 100) -> list:
    """Live call legs the portal knows (newest first), each marked if it is in a conference now.

    Each leg carries `who` (the person on it, as participants are labelled) and `other` (the far end).
    """
    in_conference = Participant.objects.filter(call_control_id=OuterRef("call_control_id"), status__in=PRESENT)
    legs = list(
        Call.objects.exclude(state=Call.State.HANGUP)
        .annotate(in_conference=Exists(in_conference))
        .order_by(F("started_at").desc(nulls_last=True), "-id")[:limit]
    )
    for leg in legs:
        leg.who = leg_label(from_number=leg.from_number, to_number=leg.to_number, direction=leg.direction)
        far = "incoming" if leg.direction == "outgoing" else "outgoing"  # the other end, read the other way
        leg.other = leg_label(from_number=leg.from_number, to_number=leg.to_number, direction=far)
    return legs
