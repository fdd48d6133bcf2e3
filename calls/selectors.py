"""Reads of call legs for pages, the admin and the API: lists, one call's timeline, DTMF and transcript."""
from __future__ import annotations

import django_filters
from django.core.paginator import Paginator
from django.db.models import Q

from calls.models import Call, TranscriptFragment
from portal import voice_content
from portal.filters import MomentFilter, TimeRangeFilterSet
from portal.models import Command
from webhooks.models import WebhookEvent
from webhooks.selectors import received_since

RECENT_PAGE_SIZE = 50
ACTIVE_LIMIT = 200
TIMELINE_LIMIT = 500


class CallFilter(TimeRangeFilterSet):
    """Filters for the Calls page and GET /api/v1/calls/ (since / until: when it started)."""

    time_field = "started_at"

    q = django_filters.CharFilter(method="search", label="Number or id")
    state = django_filters.ChoiceFilter(choices=Call.State.choices)
    direction = django_filters.ChoiceFilter(choices=[("incoming", "Incoming"), ("outgoing", "Outgoing")])
    active = django_filters.ChoiceFilter(
        method="only_active", label="Up now", choices=[("true", "Active only"), ("false", "Ended only")]
    )
    since = MomentFilter(bound="start", label="Started from")
    until = MomentFilter(bound="end", label="Started until")

    class Meta:
        model = Call
        fields = ["q", "state", "direction", "active", "since", "until"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(from_number__icontains=value) | Q(to_number__icontains=value) | Q(call_control_id__icontains=value)
            | Q(call_session_id__icontains=value) | Q(call_leg_id__icontains=value)
        )

    def only_active(self, queryset, name, value):
        if value == "true":
            return queryset.exclude(state=Call.State.HANGUP)
        return queryset.filter(state=Call.State.HANGUP) if value == "false" else queryset


def call_queryset():
    """Every leg, newest first (legs first seen mid-call, without a start time, last)."""
    return Call.objects.all()


def call_list_context(queryset=None, page_number=1) -> dict:
    """Active legs (all, up to ACTIVE_LIMIT) and a page of ended ones, from `queryset` (default: all)."""
    queryset = call_queryset() if queryset is None else queryset
    active = list(queryset.exclude(state=Call.State.HANGUP)[:ACTIVE_LIMIT])
    recent = Paginator(queryset.filter(state=Call.State.HANGUP), RECENT_PAGE_SIZE).get_page(page_number)
    return {"active_calls": active, "recent_page": recent, "active_limit": ACTIVE_LIMIT}


def calls_to_check(*, quiet_before, after_pk: int = 0, limit: int | None = None) -> list[tuple[int, str]]:
    """(pk, call_control_id) of legs held active with no lifecycle event since `quiet_before`, by pk after `after_pk`.

    What the call sync asks Telnyx about: a live leg sends events, a ghost never does again.
    """
    legs = (
        Call.objects.exclude(state=Call.State.HANGUP)
        .filter(Q(last_event_at__lt=quiet_before) | Q(last_event_at__isnull=True), pk__gt=after_pk)
        .order_by("pk")
        .values_list("pk", "call_control_id")
    )
    return list(legs[:limit] if limit else legs)


def call_detail(pk: int) -> Call | None:
    return Call.objects.filter(pk=pk).first()


def call_by_control_id(call_control_id: str) -> Call | None:
    return Call.objects.filter(call_control_id=call_control_id).first()


def call_dtmf(call: Call, *, masked: bool = False) -> str:
    """The digits heard on the call, in the order they were pressed ('•' each when masked: issue 24)."""
    digits = "".join(call.dtmf_digits.values_list("digit", flat=True))
    return voice_content.masked_digits(digits) if masked else digits


def call_heard_context(call: Call, user) -> dict:
    """The DTMF and transcript panes' context for `user`: the content itself only for listeners."""
    masked = not voice_content.may_hear(user)
    return {"digits": call_dtmf(call, masked=masked), "transcript": call_transcript(call), "masked": masked}


def call_transcript(call: Call) -> dict:
    """Final fragments in spoken order, then per track the newest interim result not yet made final."""
    fragments = list(TranscriptFragment.objects.filter(call=call).order_by("occurred_at", "id"))
    finals = [f for f in fragments if f.is_final]
    last_final = {}
    for f in finals:
        last_final[f.track] = f.occurred_at
    pending = {}
    for f in fragments:
        if f.is_final:
            continue
        settled = last_final.get(f.track)
        if f.track not in last_final or (f.occurred_at and settled and f.occurred_at > settled):
            pending[f.track] = f
    return {"lines": finals, "interim": sorted(pending.values(), key=lambda f: (f.occurred_at is None, f.occurred_at, f.id))}


def _call_events(call: Call):
    # call.recording.saved carries no call_control_id: match it by the leg.
    condition = Q(call_control_id=call.call_control_id)
    if call.call_session_id and call.call_leg_id:
        condition |= Q(call_control_id="", call_session_id=call.call_session_id, payload__call_leg_id=call.call_leg_id)
    # Speaker changes come every few seconds and belong to the conference page's speaker highlight.
    events = WebhookEvent.objects.filter(condition).exclude(event_type="conference.floor.changed").defer("raw_body")
    # Nothing of this leg arrived before it started: PostgreSQL reads only the partitions since (issue 32).
    return received_since(events, call.started_at)


def call_timeline(call: Call, limit: int = TIMELINE_LIMIT, *, masked: bool = False) -> dict:
    """Every stored event and command of this leg, oldest first (newest at the bottom), the last `limit`;
    lines quoting what was said or pressed are masked for users who may not listen (`masked`)."""
    events = list(_call_events(call).order_by("-occurred_at", "-id")[:limit])
    commands = list(
        Command.objects.filter(target=call.call_control_id).select_related("requested_by").order_by("-created_at")[:limit]
    )
    items = sorted([event_item(e, masked=masked) for e in events] + [command_item(c) for c in commands],
                   key=lambda i: i["at"])
    total = _call_events(call).count() + Command.objects.filter(target=call.call_control_id).count()
    return {"items": items[-limit:], "total": total, "shown": min(total, limit)}


def event_item(event, *, masked: bool = False) -> dict:
    return {
        "at": event.occurred_at or event.received_at, "kind": "event", "title": event.event_type,
        "summary": event_summary(event, masked=masked), "object": event, "dom_id": f"timeline-event-{event.pk}",
    }


# Event types whose timeline line quotes what was said or pressed (voice_content).
CONTENT_EVENT_TYPES = frozenset({
    "call.dtmf.received", "call.transcription", "call.recording.transcription.saved",
})


def command_item(command) -> dict:
    return {
        "at": command.created_at, "kind": "command", "title": command.action, "summary": "", "object": command,
        "dom_id": f"timeline-command-{command.pk}",
    }


def _v(payload: dict, key: str) -> str:
    value = payload.get(key)
    return "" if value in (None, "", [], {}) else str(value)


def event_summary(event, *, masked: bool = False) -> str:
    """One line saying what the event reported, in Telnyx's own values (content hidden when `masked`)."""
    p, t = event.payload or {}, event.event_type
    if masked:
        p = voice_content.mask_payload(p, force=True)
    parts: list[str] = []
    if t == "call.initiated":
        parts = [f"{_v(p, 'from') or '?'} → {_v(p, 'to') or '?'}", _v(p, "direction")]
    elif t == "call.hangup":
        parts = [_v(p, "hangup_cause"), f"by {_v(p, 'hangup_source')}" if _v(p, "hangup_source") else ""]
    elif t == "call.dtmf.received":
        parts = [f"digit {_v(p, 'digit')}"]
    elif t.startswith("call.machine."):
        parts = [_v(p, "result")]
    elif t.startswith("call.refer."):
        parts = [f"SIP {_v(p, 'sip_notify_response')}" if _v(p, "sip_notify_response") else ""]
    elif t.startswith("call.playback."):
        parts = [_v(p, "media_name") or _v(p, "media_url"), _v(p, "status"), _v(p, "status_detail")]
    elif t == "call.speak.ended":
        parts = [_v(p, "status")]
    elif t == "call.recording.error":
        parts = [_v(p, "reason")]
    elif t == "call.recording.saved":
        urls = p.get("recording_urls")
        parts = [_v(p, "channels"), ", ".join(sorted(urls.keys())) if isinstance(urls, dict) else ""]
    elif t == "call.recording.transcription.saved":
        parts = [_v(p, "status"), _v(p, "transcription_text")[:80]]
    elif t.startswith("call.fork."):
        parts = [_v(p, "stream_type")]
    elif t.startswith("streaming."):
        parts = [_v(p, "stream_url"), _v(p, "failure_reason")]
    elif t == "siprec.failed":
        parts = [_v(p, "failure_cause")]
    elif t == "siprec.stopped":
        parts = [_v(p, "hangup_cause")]
    elif t == "call.transcription":
        data = p.get("transcription_data") or {}
        if not isinstance(data, dict):  # masked
            parts = [str(data)]
        else:
            kind = "final" if data.get("is_final", True) else "interim"
            parts = [f"“{_v(data, 'transcript')[:80]}”", kind]
    elif t == "call.enqueued":
        parts = [_v(p, "queue"), f"position {_v(p, 'current_position')}" if _v(p, "current_position") else ""]
    elif t == "call.dequeued":
        parts = [_v(p, "queue"), _v(p, "reason")]
    elif t == "call.conversation.ended":
        parts = [_v(p, "reason"), f"{_v(p, 'duration_sec')} s" if _v(p, "duration_sec") else ""]
    elif t == "call.conversation_insights.generated":
        parts = [f"{len(p.get('results') or [])} result(s)"]
    elif t.startswith("conference."):
        parts = [_v(p, "conference_id")]
    return " · ".join(part for part in parts if part)


def call_links(call: Call) -> dict:
    """What the call page shows about related legs (issue 28): who listens in, what this leg was dialed
    for, who it is bridged with."""
    listeners = list(
        Call.objects.filter(supervised_call_control_id=call.call_control_id)
        .select_related("dial_command__requested_by").order_by("started_at", "id")
    )
    related = [c for c in (call.supervised_call_control_id, call.bridged_with) if c]
    found = {c.call_control_id: c for c in Call.objects.filter(call_control_id__in=related)}
    dial = call.dial_command if call.dial_command_id else None
    return {
        "listeners": listeners,
        "supervised": found.get(call.supervised_call_control_id),
        "bridged": found.get(call.bridged_with),
        "dial": dial,
    }


def live_legs(exclude: str = "", limit: int = 100) -> list[Call]:
    """Live legs newest first, for picking the other leg of a bridge."""
    return list(call_queryset().exclude(state=Call.State.HANGUP).exclude(call_control_id=exclude)[:limit])
