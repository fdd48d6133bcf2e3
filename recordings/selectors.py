"""Reads of recordings for pages, the admin and the API: filters, transcript search, transcript lines."""
from __future__ import annotations

import re

import django_filters
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.html import escape
from django.utils.safestring import mark_safe

from calls.models import Call
from conferencing.models import Conference  # names a conference's recordings: see README's Layout
from portal import voice_content
from portal.audit.selectors import recording_access
from portal.filters import StrictBooleanFilter, TimeRangeFilterSet
from queues.models import QueuedCall
from recordings.models import Recording, Transcription

SEARCH_CONFIG = "english"  # the PostgreSQL index (migration 0003) is built with the same configuration
START, STOP = "\x02", "\x03"  # headline markers, replaced by <mark> after escaping the transcript


def recording_queryset():
    """Recordings with has_transcript and who or what they are of (issue 31: rows named by people, not UUIDs)."""
    return Recording.objects.select_related("deleted_by").annotate(
        has_transcript=Exists(Transcription.objects.filter(recording=OuterRef("pk")).exclude(text="")),
        conference_name=Subquery(Conference.objects.filter(conference_id=OuterRef("conference_id")).values("name")[:1]),
        caller_number=Subquery(
            Call.objects.filter(call_control_id=OuterRef("call_control_id")).exclude(call_control_id="")
            .values("from_number")[:1]
        ),
    ).order_by("-recorded_at", "-id")


def recording_list(limit: int = 200):
    return recording_queryset()[:limit]


def recording_detail(recording_id: str):
    return recording_queryset().filter(recording_id=recording_id).prefetch_related("transcriptions").first()


def access_log(recording: Recording, limit: int = 100):
    return recording_access(recording.recording_id, limit)


def _uses_postgres() -> bool:
    return connection.vendor == "postgresql"


def transcript_search(queryset, q: str):
    """Recordings whose transcript matches `q` (or whose id contains it), each with `match` highlighted.

    PostgreSQL: full-text search (websearch syntax, stemming) with ts_headline; elsewhere a
    case-insensitive substring match with the fragment cut around the first hit.
    """
    q = q.strip()
    if not q:
        return queryset
    if _uses_postgres():
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        matching = Transcription.objects.annotate(
            search=SearchVector("text", config=SEARCH_CONFIG)
        ).filter(search=query, recording=OuterRef("pk"))
        headline = matching.annotate(
            headline=SearchHeadline(
                "text", query, config=SEARCH_CONFIG, start_sel=START, stop_sel=STOP, max_words=25, min_words=8,
            )
        ).values("headline")[:1]
        return queryset.filter(Q(Exists(matching)) | Q(recording_id__icontains=q)).annotate(raw_match=Subquery(headline))
    matching = Transcription.objects.filter(recording=OuterRef("pk"), text__icontains=q)
    return queryset.filter(Q(Exists(matching)) | Q(recording_id__icontains=q)).annotate(
        raw_match=Subquery(matching.values("text")[:1])
    )


def highlight(raw: str | None, q: str) -> str:
    """The matching fragment as safe HTML with <mark>s: from ts_headline's markers, or cut around `q`."""
    if not raw:
        return ""
    if START in raw:
        return mark_safe(escape(raw).replace(START, "<mark>").replace(STOP, "</mark>"))
    words = [re.escape(w) for w in q.split() if w]
    found = re.search("|".join(words), raw, re.IGNORECASE) if words else None
    if not found:
        return escape(raw[:160])
    start, end = max(0, found.start() - 70), min(len(raw), found.end() + 70)
    fragment = raw[start:end]
    pattern = re.compile("(" + "|".join(words) + ")", re.IGNORECASE)
    pieces = pattern.split(fragment)
    html = "".join(f"<mark>{escape(p)}</mark>" if i % 2 else escape(p) for i, p in enumerate(pieces))
    return mark_safe(("…" if start else "") + html + ("…" if end < len(raw) else ""))


def mark_lines(lines: list[dict], q: str) -> list[dict]:
    """Transcript lines with every word of `q` marked (safe HTML): the search's match on the recording's page."""
    words = [re.escape(w) for w in q.split() if w]
    if not words:
        return lines
    pattern = re.compile("(" + "|".join(words) + ")", re.IGNORECASE)
    marked = []
    for line in lines:
        pieces = pattern.split(line["text"])
        html = "".join(f"<mark>{escape(p)}</mark>" if i % 2 else escape(p) for i, p in enumerate(pieces))
        marked.append({**line, "text": mark_safe(html), "matched": len(pieces) > 1})
    return marked


def with_matches(recordings, q: str) -> list:
    """Evaluate a searched queryset and attach `match` (safe HTML) to each recording."""
    rows = list(recordings)
    for recording in rows:
        recording.match = highlight(getattr(recording, "raw_match", None), q)
    return rows


class RecordingFilter(TimeRangeFilterSet):
    """Filters for the Recordings page and GET /api/v1/recordings/ (since / until: when it was recorded)."""

    time_field = "recorded_at"

    q = django_filters.CharFilter(method="search", label="Transcript contains")
    source = django_filters.ChoiceFilter(choices=Recording.Source.choices)
    conference = django_filters.CharFilter(field_name="conference_id", label="Conference id")
    queue = django_filters.CharFilter(method="in_queue", label="Queue")
    call = django_filters.CharFilter(method="of_call", label="Call id")
    min_duration = django_filters.NumberFilter(field_name="duration_seconds", lookup_expr="gte", label="Min seconds")
    max_duration = django_filters.NumberFilter(field_name="duration_seconds", lookup_expr="lte", label="Max seconds")
    has_transcript = StrictBooleanFilter(field_name="has_transcript", label="Transcript")
    status = django_filters.ChoiceFilter(choices=Recording.Status.choices)

    def is_valid(self):
        """Searching transcripts reveals their words: listeners only (issue 24), at every door."""
        valid = super().is_valid()
        if valid and self.form.cleaned_data.get("q") and not voice_content.may_hear(getattr(self.request, "user", None)):
            self.form.add_error("q", "Searching transcripts needs the listen permission (Supervisors, Administrators).")
            return False
        return valid

    class Meta:
        model = Recording
        fields = ["q", "since", "until", "source", "conference", "queue", "call", "min_duration", "max_duration",
                  "has_transcript", "status"]

    def search(self, queryset, name, value):
        return transcript_search(queryset, value)

    def in_queue(self, queryset, name, value):
        """Recordings of calls that waited in the queue named `value` (queues.QueuedCall, matched by call id)."""
        stays = QueuedCall.objects.filter(queue__name=value)
        return queryset.filter(
            Exists(stays.filter(call_control_id=OuterRef("call_control_id")).exclude(call_control_id=""))
            | Exists(stays.filter(call_session_id=OuterRef("call_session_id")).exclude(call_session_id=""))
        )

    def of_call(self, queryset, name, value):
        return queryset.filter(Q(call_control_id=value) | Q(call_session_id=value) | Q(call_leg_id=value))


def recording_call(recording: Recording):
    """The call leg this recording came from, if the portal saw it (calls.Call, matched by id strings)."""
    if recording.call_control_id:
        call = Call.objects.filter(call_control_id=recording.call_control_id).first()
        if call:
            return call
    if recording.call_session_id:
        return Call.objects.filter(call_session_id=recording.call_session_id).order_by("started_at").first()
    return None


def transcript_lines(recording: Recording) -> list[dict]:
    """Lines to show beside the player: timed segments where Telnyx gave timing, else sentences (untimed)."""
    lines = []
    for transcription in recording.transcriptions.all():
        segments = [s for s in transcription.segments or [] if isinstance(s, dict) and s.get("text")]
        if segments:
            for s in segments:
                start = s.get("start")
                lines.append({
                    "text": str(s["text"]), "speaker": str(s.get("speaker") or ""),
                    "start": float(start) if isinstance(start, int | float) else None,
                })
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", transcription.text.strip()):
            if sentence:
                lines.append({"text": sentence, "speaker": "", "start": None})
    return lines


def call_recordings(call) -> list:
    """Recordings of one call leg (a calls.Call), by control id or by session."""
    condition = Q(call_control_id=call.call_control_id)
    if call.call_session_id:
        condition |= Q(call_session_id=call.call_session_id)
    return list(Recording.objects.filter(condition)[:50])
