"""Prometheus metrics: one-line calls where things happen, correct across processes, and gauges read at scrape.

Counters and histograms use prometheus_client's multiprocess mode: every process (web, worker) writes
its own memory-mapped file under PROMETHEUS_MULTIPROC_DIR, and /metrics sums them, so nothing resets
when one process restarts and a call costs a few microseconds (no network round trip on the hot path).
Gauges about state (callers waiting, backlogs, heartbeats, live sockets) are read from the database
when scraped: cheap, and the same whichever process answers.
"""
from __future__ import annotations

import fcntl
import glob
import ipaddress
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.conf import settings  # noqa: F401  (settings point PROMETHEUS_MULTIPROC_DIR at a folder first)
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and not getattr(values.ValueClass, "_multiprocess", False):
    # prometheus_client was imported before settings named the folder: switch before any metric exists.
    values.ValueClass = values.MultiProcessValue()

log = logging.getLogger("portal.ops")
webhook_log = logging.getLogger("webhooks.intake")
event_log = logging.getLogger("webhooks.processing")
command_log = logging.getLogger("portal.commands")

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

WEBHOOKS_RECEIVED = Counter(
    "portal_webhooks_received", "Signed webhook deliveries accepted (stored, or a duplicate of a stored event).",
    ["event_type"],
)
WEBHOOKS_DUPLICATES = Counter(
    "portal_webhooks_duplicates", "Accepted deliveries of an event already stored (Telnyx redelivered it).",
    ["event_type"],
)
WEBHOOKS_REFUSED = Counter(
    "portal_webhooks_refused", "Webhook deliveries refused before anything was stored, by reason.", ["reason"]
)
WEBHOOK_INTAKE_SECONDS = Histogram(
    "portal_webhook_intake_seconds", "Time to verify and store (or refuse) one delivery.", buckets=FAST
)
EVENTS_APPLIED = Counter(
    "portal_events_applied", "Stored events run through their handlers, by type and outcome.", ["event_type", "outcome"]
)
EVENT_LAG_SECONDS = Histogram(
    "portal_event_processing_lag_seconds", "From receipt of an event to its handlers' outcome.", buckets=SLOW
)
COMMANDS = Counter(
    "portal_commands", "Command attempts' outcomes by action: succeeded, failed, retrying.", ["action", "outcome"]
)
COMMAND_SECONDS = Histogram(
    "portal_command_seconds", "From issuing a command to its final outcome (retries included).", ["action"],
    buckets=SLOW,
)
TELNYX_ERRORS = Counter(
    "portal_telnyx_errors", "Telnyx API calls that failed, by HTTP status (or timeout / connect).", ["status"]
)


def clock() -> float:
    """A start time for the latency observed by the calls below."""
    return time.perf_counter()


def _safe(function):
    """Metrics never break the caller (a full disk, a bad label): they log and carry on."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - observability must not take the portal down
            log.warning("metric %s failed", function.__name__, exc_info=True)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


@_safe
def webhook_accepted(*, event_type: str, event_id: str, created: bool, started: float | None = None) -> None:
    """A verified delivery was stored (created) or recognised as a duplicate."""
    WEBHOOKS_RECEIVED.labels(event_type).inc()
    if not created:
        WEBHOOKS_DUPLICATES.labels(event_type).inc()
    if started is not None:
        WEBHOOK_INTAKE_SECONDS.observe(time.perf_counter() - started)
    webhook_log.info("webhook %s %s", event_type, "stored" if created else "duplicate", extra={"event_id": event_id})


@_safe
def webhook_refused(reason: str, started: float | None = None) -> None:
    """A delivery was refused (bad signature, stale, malformed, too large, database unavailable...)."""
    WEBHOOKS_REFUSED.labels(reason).inc()
    if started is not None:
        WEBHOOK_INTAKE_SECONDS.observe(time.perf_counter() - started)


@_safe
def events_applied(*, done: Iterable = (), ignored: Iterable = (), failed: Iterable = ()) -> None:
    """Events whose handlers ran (processed), had none (ignored) or raised (failed); one log line per batch."""
    now = timezone.now()
    counts = {}
    lag_max = 0.0
    for outcome, events in (("processed", done), ("ignored", ignored), ("failed", failed)):
        for event in events:
            EVENTS_APPLIED.labels(event.event_type, outcome).inc()
            if event.received_at:
                lag = max(0.0, (now - event.received_at).total_seconds())
                EVENT_LAG_SECONDS.observe(lag)
                lag_max = max(lag_max, lag)
            counts[outcome] = counts.get(outcome, 0) + 1
    if counts:
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        level = logging.WARNING if "failed" in counts else logging.INFO
        event_log.log(level, "events applied: %s (lag up to %.1f s)", summary, lag_max)


@_safe
def command_outcome(command, outcome: str, *, retry_in: float | None = None) -> None:
    """A command attempt ended: succeeded, failed or outcome_unknown (final), or retrying."""
    COMMANDS.labels(command.action, outcome).inc()
    extra = {"command_id": str(command.command_id), "command_pk": command.pk}
    elapsed_ms = (timezone.now() - command.created_at).total_seconds() * 1000 if command.created_at else 0.0
    if outcome == "retrying":
        command_log.info(
            "command %s #%s attempt %s failed (%s), retrying in %.1f s",
            command.action, command.pk, command.attempts, command.error_status or command.error_title, retry_in or 0,
            extra=extra,
        )
        return
    COMMAND_SECONDS.labels(command.action).observe(elapsed_ms / 1000)
    if outcome == "succeeded":
        command_log.info("command %s #%s succeeded in %.0f ms", command.action, command.pk, elapsed_ms, extra=extra)
    else:
        command_log.warning(
            "command %s #%s %s in %.0f ms: %s %s", command.action, command.pk, outcome.replace("_", " "), elapsed_ms,
            command.error_status or "", command.error_title, extra=extra,
        )


@_safe
def telnyx_error(status: int | str | None) -> None:
    """A Telnyx API call failed: its HTTP status, or "connect" (never sent), "timeout" or "lost" (sent, no answer)."""
    TELNYX_ERRORS.labels(str(status or "none")).inc()


# --- Live sockets: counted per process, reported to the shared heartbeat table ---------------------
class _SocketReporter:
    """This process's open live sockets, written to its web heartbeat row at most once a second."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()

    def name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def add(self, delta: int) -> None:
        with self.lock:
            self.count = max(0, self.count + delta)
            if settings.HEARTBEAT_SECONDS > 0 and (self.thread is None or self.pid != os.getpid()):
                self.pid = os.getpid()
                self.thread = threading.Thread(target=self.run, name="live-socket-reporter", daemon=True)
                self.thread.start()
        self.changed.set()

    def report(self) -> None:
        from django.db import connection

        from ops.models import Heartbeat
        from ops.services import heartbeat_record

        try:
            heartbeat_record(kind=Heartbeat.Kind.WEB, name=self.name(), detail={"sockets": self.count})
        finally:
            connection.close()  # this thread's own connection: back to the pool between reports

    def run(self) -> None:
        while True:
            self.changed.wait(timeout=settings.HEARTBEAT_SECONDS)
            self.changed.clear()
            try:
                self.report()
            except Exception:  # noqa: BLE001 - the next heartbeat tries again
                log.warning("could not report live sockets", exc_info=True)
            time.sleep(1.0)


sockets = _SocketReporter()


@_safe
def socket_opened() -> None:
    """A live socket was accepted by this process."""
    sockets.add(1)


@_safe
def socket_closed() -> None:
    """A live socket this process accepted has closed."""
    sockets.add(-1)


# --- Scrape --------------------------------------------------------------------------------------
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
        from django.db.models import Count, Min

        from ops import selectors
        from ops.models import Heartbeat
        from queues.models import QueuedCall

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

        from alerts.metrics import families as alert_families  # alerts.metrics imports this module

        yield from alert_families()

    @staticmethod
    def _recordings_waiting() -> dict | None:
        from django.core.exceptions import FieldError
        from django.db.models import Count

        from recordings.models import Recording

        try:
            rows = (
                Recording.objects.filter(status__in=["saved", "downloading", "failed"], telnyx_error="")
                .values("status").annotate(count=Count("id"))
            )
            found = {row["status"]: row["count"] for row in rows}
        except FieldError:  # a Recording without capture status: nothing to download
            return None
        return {status: found.get(status, 0) for status in ("saved", "downloading", "failed")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to fold
    return True


def compact(directory: str) -> int:
    """Fold the files of exited processes into one archive file per metric type; returns how many.

    Every process that ever counted leaves a file (granian respawns a worker past its memory limit, Celery
    replaces prefork children), and a scrape reads them all. Counters and histograms are sums, so the
    files of dead processes fold into one without changing any total. Call with the folder's lock held
    exclusively (render() does), so no scrape reads a value twice or not at all.
    """
    folded = 0
    for kind in ("counter", "histogram", "summary"):
        dead = []
        for path in glob.glob(os.path.join(directory, f"{kind}_*.db")):
            ident = os.path.basename(path)[len(kind) + 1:-3]
            if ident.isdigit() and int(ident) != os.getpid() and not _alive(int(ident)):
                dead.append(path)
        if not dead:
            continue
        archive = os.path.join(directory, f"{kind}_archive.db")
        totals: dict[str, float] = defaultdict(float)
        for path in ([archive] if os.path.exists(archive) else []) + dead:
            for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(path):
                totals[key] += value
        staging = archive + ".new"  # not *.db: a scrape never reads it half-written
        merged = MmapedDict(staging)
        for key, value in totals.items():
            merged.write_value(key, value, 0.0)
        merged.close()
        os.replace(staging, archive)
        for path in dead:
            os.unlink(path)
        folded += len(dead)
    return folded


def render(*, database: bool = True) -> bytes:
    """The Prometheus text exposition: every process's counters summed, plus the database gauges."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    with open(os.path.join(directory, ".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                compact(directory)
            except Exception:  # noqa: BLE001 - an unfolded file only costs time; the scrape goes on
                log.warning("could not fold the metrics of exited processes", exc_info=True)
        except BlockingIOError:
            pass  # another scrape holds the lock: read beside it
        fcntl.flock(lock, fcntl.LOCK_SH)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        if database:
            registry.register(DatabaseCollector())
        return generate_latest(registry)


# A request that came through a proxy is not a local caller, whatever address the proxy has.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def access_refusal(meta: Mapping[str, str]) -> tuple[int, str] | None:
    """None if this request (WSGI environ / request.META) may read metrics, else (status, why)."""
    token = settings.METRICS_TOKEN
    if token:
        if constant_time_compare(meta.get("HTTP_AUTHORIZATION", ""), f"Bearer {token}"):
            return None
        return 401, "A valid bearer token is required."
    if not settings.METRICS_ALLOW_LOOPBACK:
        return 403, "Metrics need METRICS_TOKEN (or METRICS_ALLOW_LOOPBACK=true where only trusted local callers reach the port)."
    if any(meta.get(header) for header in FORWARDING_HEADERS):
        return 403, "Metrics are served to loopback callers only; set METRICS_TOKEN to scrape from elsewhere."
    try:
        if ipaddress.ip_address(meta.get("REMOTE_ADDR", "")).is_loopback:
            return None
    except ValueError:
        pass
    return 403, "Metrics are served to loopback callers only; set METRICS_TOKEN to scrape from elsewhere."
