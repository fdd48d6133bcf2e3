"""Each metric's current value per scope, computed by the database in a constant number of queries.

Queue metrics reuse queues/figures.py (one pass over every queue per window); system metrics reuse the
readiness reads (ops/selectors.py). Values are keyed by scope: "queue:<name>" or "system".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from alerts.models import Metric
from ops import selectors as ops_selectors
from ops.models import Heartbeat
from portal.models import Command
from queues import figures as queue_metrics
from webhooks.models import WebhookEvent

SYSTEM = "system"
RECENT = timedelta(minutes=15)


def queue_scope(name: str) -> str:
    return f"queue:{name}"


@dataclass
class Measurement:
    """values: {metric: {scope: value}} (None: no value, e.g. no caller finished today); queue_ids: scope -> queue pk."""

    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    queue_ids: dict[str, int] = field(default_factory=dict)


def measure(metrics: set[str], *, now: datetime | None = None) -> Measurement:
    """The metrics asked, for every live queue (queue metrics) or the system."""
    now = now or timezone.now()
    found: dict[str, dict[str, float | None]] = {}
    queue_ids: dict[str, int] = {}
    if metrics & {Metric.LONGEST_WAIT_SECS, Metric.CALLERS_WAITING, Metric.SERVICE_LEVEL_PERCENT}:
        today = queue_metrics.queue_metrics(window="today", now=now, p90=False)
        queue_ids.update({queue_scope(m.queue): pk for pk, m in today.items()})
        found[Metric.LONGEST_WAIT_SECS] = {queue_scope(m.queue): float(m.longest_wait_now_secs or 0) for m in today.values()}
        found[Metric.CALLERS_WAITING] = {queue_scope(m.queue): float(m.waiting_now) for m in today.values()}
        found[Metric.SERVICE_LEVEL_PERCENT] = {queue_scope(m.queue): m.service_level for m in today.values()}
    if Metric.ABANDON_RATE_PERCENT in metrics:
        hour = queue_metrics.queue_metrics(window="hour", now=now, p90=False)
        queue_ids.update({queue_scope(m.queue): pk for pk, m in hour.items()})
        found[Metric.ABANDON_RATE_PERCENT] = {queue_scope(m.queue): m.abandon_rate for m in hour.values()}
    if Metric.FAILED_COMMANDS in metrics:
        count = Command.objects.filter(status=Command.Status.FAILED, created_at__gte=now - RECENT).count()
        found[Metric.FAILED_COMMANDS] = {SYSTEM: float(count)}
    if Metric.FAILED_EVENTS in metrics:
        count = WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED, received_at__gte=now - RECENT).count()
        found[Metric.FAILED_EVENTS] = {SYSTEM: float(count)}
    if Metric.WEBHOOK_LAG_SECS in metrics:
        oldest = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).aggregate(oldest=Min("received_at"))["oldest"]
        found[Metric.WEBHOOK_LAG_SECS] = {SYSTEM: round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else 0.0}
    if Metric.WORKERS_MISSING in metrics:
        found[Metric.WORKERS_MISSING] = {SYSTEM: float(workers_missing())}
    return Measurement(found, queue_ids)


def workers_missing() -> int:
    """Task queues no live worker consumes, plus one if beat's heartbeat is stale (as /readyz judges them)."""
    fresh = Heartbeat.objects.filter(seen_at__gte=ops_selectors.fresh_cutoff(),
                                     kind__in=[Heartbeat.Kind.WORKER, Heartbeat.Kind.BEAT])
    rows = list(fresh.only("kind", "detail"))
    consumed = ops_selectors.consumed_queues([r for r in rows if r.kind == Heartbeat.Kind.WORKER])
    missing = len(set(settings.PORTAL_TASK_QUEUES) - consumed)
    return missing + (0 if any(r.kind == Heartbeat.Kind.BEAT for r in rows) else 1)

