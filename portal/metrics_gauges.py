"""Prometheus gauges read from the database at scrape time: callers waiting, backlogs, heartbeats, syncs."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import FieldError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from ops import selectors
from ops.models import Heartbeat
from queues.models import QueuedCall
from recordings.models import Recording

log = logging.getLogger("portal.ops")


class DatabaseCollector:
    """Gauges computed from the database when scraped: the same from every process and machine."""

    def collect(self):
        try:
            families = list(self._families())
        except Exception:  # noqa: BLE001 - a scrape during a database outage still returns the counters
            log.warning("database gauges unavailable", exc_info=True)
            families = []
        up = GaugeMetricFamily("portal_database_gauges_up", "1 when the database gauges below could be read.")
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families

    def _families(self):
        now = timezone.now()
        waiting = GaugeMetricFamily("portal_queue_callers_waiting", "Callers waiting now, per queue.", labels=["queue"])
        longest = GaugeMetricFamily(
            "portal_queue_longest_wait_seconds", "How long the longest-waiting caller has waited, per queue.",
            labels=["queue"],
        )
        rows = (
            QueuedCall.objects.filter(left_at__isnull=True)
            .values("queue__name").annotate(count=Count("id"), oldest=Min("enqueued_at"))
        )
        for row in rows:
            waiting.add_metric([row["queue__name"]], row["count"])
            longest.add_metric([row["queue__name"]], max(0.0, (now - row["oldest"]).total_seconds()))
        yield waiting
        yield longest

        events = selectors.webhook_backlog()
        pending = GaugeMetricFamily("portal_events_pending", "Stored events not yet applied.")
        pending.add_metric([], events["pending"])
        yield pending
        lag = GaugeMetricFamily("portal_events_oldest_pending_seconds", "Age of the oldest event not yet applied.")
        lag.add_metric([], events["lag_seconds"])
        yield lag

        commands = selectors.command_backlog()
        backlog = GaugeMetricFamily("portal_commands_backlog", "Commands not finished, by status.", labels=["status"])
        backlog.add_metric(["queued"], commands["queued"])
        backlog.add_metric(["running"], commands["running"])
        yield backlog

        recordings = self._recordings_waiting()
        if recordings is not None:
            family = GaugeMetricFamily(
                "portal_recordings_waiting_download", "Recordings saved at Telnyx and not stored here yet, by status.",
                labels=["status"],
            )
            for status, count in recordings.items():
                family.add_metric([status], count)
            yield family

        sockets_family = GaugeMetricFamily("portal_live_sockets", "Open live sockets over every web process.")
        sockets_family.add_metric([], selectors.live_sockets())
        yield sockets_family

        workers = selectors.heartbeats(Heartbeat.Kind.WORKER)
        alive = GaugeMetricFamily("portal_workers_alive", "Celery workers with a heartbeat in the last minute.")
        alive.add_metric([], len(workers))
        yield alive
        queues = GaugeMetricFamily(
            "portal_task_queue_consumers", "Live workers consuming each task queue.", labels=["queue"]
        )
        for queue in settings.PORTAL_TASK_QUEUES:
            queues.add_metric([queue], sum(1 for w in workers if queue in w.detail.get("queues", [])))
        yield queues

        beat = Heartbeat.objects.filter(kind=Heartbeat.Kind.BEAT).order_by("-seen_at").first()
        beat_age = GaugeMetricFamily("portal_beat_heartbeat_age_seconds", "Seconds since beat's last heartbeat.")
        if beat:
            beat_age.add_metric([], max(0.0, (now - beat.seen_at).total_seconds()))
            yield beat_age

        syncs = GaugeMetricFamily(
            "portal_sync_last_run_timestamp_seconds", "When each sync with Telnyx last finished, by outcome.",
            labels=["name", "outcome"],
        )
        for row in selectors.last_syncs():
            if row["ran_at"]:
                syncs.add_metric([row["name"], row["outcome"] or "unknown"], row["ran_at"].timestamp())
        yield syncs

    @staticmethod
    def _recordings_waiting() -> dict | None:
        try:
            rows = (
                Recording.objects.filter(status__in=["saved", "downloading", "failed"], telnyx_error="")
                .values("status").annotate(count=Count("id"))
            )
            found = {row["status"]: row["count"] for row in rows}
        except FieldError:  # a Recording without capture status: nothing to download
            return None
        return {status: found.get(status, 0) for status in ("saved", "downloading", "failed")}
