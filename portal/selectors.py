"""Reads for the dashboard: the counters and the supervisor's overview (issue 26)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Min, Prefetch, Q
from django.utils import timezone

from alerts.selectors import unresolved_alerts
from calls.models import Call
from conferencing.models import Conference, Participant
from portal.models import Command
from queues.figures import queue_metrics, start_of_day
from queues.models import QueuedCall
from queues.selectors import metrics_urgency
from recordings.models import Recording
from webhooks.models import WebhookEvent


def dashboard_counters() -> dict:
    """The live counters on the dashboard, each a few indexed COUNTs."""
    now = timezone.now()
    hour_ago = now - timezone.timedelta(hours=1)
    # A caller kept in line after hanging up (keep_after_hangup) is not waiting for anyone.
    waiting = QueuedCall.objects.filter(left_at__isnull=True, is_alive=True)
    oldest = waiting.aggregate(oldest=Min("enqueued_at"))["oldest"]
    # The queue of the caller waiting longest: the counter names it and opens it (issue 31).
    longest_queue = waiting.order_by("enqueued_at").values_list("queue__name", flat=True).first() if oldest else None
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "active_conferences": Conference.objects.exclude(status=Conference.Status.COMPLETED).count(),
        "participants": Participant.objects.filter(
            status=Participant.Status.JOINED, conference__status__in=[Conference.Status.INIT, Conference.Status.IN_PROGRESS]
        ).count(),
        "active_calls": Call.objects.exclude(state=Call.State.HANGUP).count(),
        "waiting_calls": waiting.count(),
        "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else None,
        "waiting_since": oldest,
        "longest_wait_queue": longest_queue,
        "today": timezone.localdate(now).isoformat(),
        "hour_ago": hour_ago.replace(microsecond=0).isoformat(),
        # A recording attempt Telnyx reported failed (call.recording.error) is listed, but is no recording.
        "recordings_today": Recording.objects.filter(saved_at__gte=start_of_day, telnyx_error="").count(),
        "failed_commands": Command.objects.filter(status=Command.Status.FAILED, created_at__gte=hour_ago).count(),
        "failed_events": WebhookEvent.objects.filter(
            status=WebhookEvent.Status.FAILED, received_at__gte=hour_ago
        ).count(),
        "as_of": now,
    }


OVERVIEW_LIMIT = 10
OVERVIEW_QUEUES = 12
CHART_WIDTH, CHART_HEIGHT, CHART_BASE = 720, 160, 140


def dashboard_overview(now: datetime | None = None) -> dict:
    """The supervisor's overview below the counters: a fixed number of queries whatever the traffic."""
    now = now or timezone.now()
    # The most urgent first, as on the board; with thousands of queues the dashboard shows the first few
    # and links to the board (rendering every row took ~0.5 s at 2,000 queues).
    queues = sorted(queue_metrics(window="today", now=now, p90=False).values(), key=metrics_urgency)
    joined = Participant.objects.filter(status=Participant.Status.JOINED).order_by("joined_at", "pk")
    # The newest few first, then their counts: counting every active conference's roster before the limit
    # cost ~30 ms at 10,000 conferences.
    newest = Conference.objects.exclude(status=Conference.Status.COMPLETED).order_by("-created_at", "-pk")
    conferences = (
        Conference.objects.filter(pk__in=list(newest.values_list("pk", flat=True)[:OVERVIEW_LIMIT]))
        .annotate(joined=Count("participants", filter=Q(participants__status=Participant.Status.JOINED)))
        .prefetch_related(Prefetch("participants", queryset=joined, to_attr="joined_participants"))
        .order_by("-created_at", "-pk")
    )
    return {
        "alerts": list(unresolved_alerts()[:OVERVIEW_LIMIT]),
        "queues": queues[:OVERVIEW_QUEUES], "queues_total": len(queues),
        "chart": calls_per_hour_chart(now),
        "conferences": list(conferences),
        "failed_commands": list(Command.objects.filter(status=Command.Status.FAILED).order_by("-created_at")[:5]),
        "failed_events": list(
            WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).order_by("-received_at")
            .only("pk", "event_type", "received_at", "status")[:5]
        ),
    }


def calls_per_hour_chart(now: datetime) -> dict:
    """Calls started in each hour of today so far beside the same hours yesterday, in one aggregate query."""
    today = start_of_day(now)
    yesterday = start_of_day(today - timedelta(hours=12))
    hours = []
    hour = today
    while hour <= now and len(hours) < 25:
        hours.append(hour)
        hour += timedelta(hours=1)
    offset = today - yesterday  # 24 h, or 23 / 25 across a DST change
    aggregates = {}
    for i, start in enumerate(hours):
        aggregates[f"t{i}"] = Count("id", filter=Q(started_at__gte=start, started_at__lt=start + timedelta(hours=1)))
        aggregates[f"y{i}"] = Count("id", filter=Q(started_at__gte=start - offset,
                                                   started_at__lt=start - offset + timedelta(hours=1)))
    values = Call.objects.filter(started_at__gte=yesterday, started_at__lt=now).aggregate(**aggregates) if hours else {}
    peak = max([1, *values.values()])
    slot = CHART_WIDTH / 24
    bars = []
    for i, start in enumerate(hours):
        local = timezone.localtime(start)
        today_n, yesterday_n = values[f"t{i}"], values[f"y{i}"]
        bars.append({
            "hour": f"{local:%H}:00", "today": today_n, "yesterday": yesterday_n,
            "x": round(i * slot + 2, 1), "width": round(slot / 2 - 2, 1),
            "y_today": round(CHART_BASE - today_n / peak * (CHART_BASE - 10), 1),
            "y_yesterday": round(CHART_BASE - yesterday_n / peak * (CHART_BASE - 10), 1),
            "since": start.isoformat(), "until": (start + timedelta(hours=1)).isoformat(),
        })
    for bar in bars:
        bar["h_today"] = round(CHART_BASE - bar["y_today"], 1)
        bar["h_yesterday"] = round(CHART_BASE - bar["y_yesterday"], 1)
        bar["x_today"] = round(bar["x"] + bar["width"], 1)
    return {"bars": bars, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT, "base": CHART_BASE,
            "total_today": sum(b["today"] for b in bars), "total_yesterday": sum(b["yesterday"] for b in bars)}
