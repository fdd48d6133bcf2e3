"""Reads for the dashboard."""
from __future__ import annotations

from django.db.models import Min
from django.utils import timezone

from calls.models import Call
from conferencing.models import Conference, Participant
from portal.models import Command
from queues.models import QueuedCall
from recordings.models import Recording
from webhooks.models import WebhookEvent


def dashboard_counters() -> dict:
    """The live counters on the dashboard, each a few indexed COUNTs."""
    now = timezone.now()
    hour_ago = now - timezone.timedelta(hours=1)
    # A caller kept in line after hanging up (keep_after_hangup) is not waiting for anyone.
    waiting = QueuedCall.objects.filter(left_at__isnull=True, is_alive=True)
    oldest = waiting.aggregate(oldest=Min("enqueued_at"))["oldest"]
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
        # A recording attempt Telnyx reported failed (call.recording.error) is listed, but is no recording.
        "recordings_today": Recording.objects.filter(saved_at__gte=start_of_day, telnyx_error="").count(),
        "failed_commands": Command.objects.filter(status=Command.Status.FAILED, created_at__gte=hour_ago).count(),
        "failed_events": WebhookEvent.objects.filter(
            status=WebhookEvent.Status.FAILED, received_at__gte=hour_ago
        ).count(),
        "as_of": now,
    }
