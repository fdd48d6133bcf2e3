"""Reads for readiness, the System page and metrics: fresh heartbeats, backlogs, last syncs."""
from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ops.models import Heartbeat
from portal.models import Command
from webhooks.models import WebhookEvent


def fresh_cutoff():
    """Heartbeats older than this belong to processes that are gone."""
    return timezone.now() - timezone.timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)


def heartbeats(kind: str, *, fresh_only: bool = True) -> list[Heartbeat]:
    """Heartbeats of one kind, newest first; only live processes unless `fresh_only` is False."""
    rows = Heartbeat.objects.filter(kind=kind)
    if fresh_only:
        rows = rows.filter(seen_at__gte=fresh_cutoff())
    return list(rows.order_by("-seen_at"))


def consumed_queues(workers: list[Heartbeat]) -> set[str]:
    """Every task queue at least one live worker consumes."""
    return {queue for worker in workers for queue in worker.detail.get("queues", [])}


def live_sockets() -> int:
    """Open live sockets over every web process that reported in the last minute."""
    return sum(int(row.detail.get("sockets", 0)) for row in heartbeats(Heartbeat.Kind.WEB))


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


def command_backlog() -> dict:
    """Commands by status: queued and running now (with the oldest queued), failed in the last hour."""
    now = timezone.now()
    rows = (
        Command.objects.filter(status__in=[Command.Status.QUEUED, Command.Status.RUNNING])
        .values("status").annotate(count=Count("id"), oldest=Min("created_at"))
    )
    by_status = {row["status"]: row for row in rows}
    oldest_queued = (by_status.get(Command.Status.QUEUED) or {}).get("oldest")
    return {
        "queued": (by_status.get(Command.Status.QUEUED) or {}).get("count", 0),
        "running": (by_status.get(Command.Status.RUNNING) or {}).get("count", 0),
        "oldest_queued_at": oldest_queued,
        "oldest_queued_seconds": max(0.0, (now - oldest_queued).total_seconds()) if oldest_queued else 0.0,
        "failed_last_hour": Command.objects.filter(
            status=Command.Status.FAILED, created_at__gte=now - timezone.timedelta(hours=1)
        ).count(),
    }


def last_syncs() -> list[dict]:
    """Every known sync kind with its last run and outcome; kinds that never ran are listed too."""
    from portal.sync import full_syncs

    recorded = {row.name: row for row in Heartbeat.objects.filter(kind=Heartbeat.Kind.SYNC)}
    names = sorted(set(full_syncs()) | set(recorded))
    result = []
    for name in names:
        row = recorded.get(name)
        detail = row.detail if row else {}
        result.append({
            "name": name,
            "ran_at": row.seen_at if row else None,
            "outcome": detail.get("outcome"),
            "error": detail.get("error", ""),
            "last_success_at": parse_datetime(detail.get("last_success_at") or ""),
        })
    return result
