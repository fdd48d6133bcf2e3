"""Prometheus instruments: one-line calls where things happen, correct across processes.

Counters and histograms use prometheus_client's multiprocess mode: every process (web, worker) writes
its own memory-mapped file under PROMETHEUS_MULTIPROC_DIR, and /metrics sums them
(portal/metrics_exposition.py), so nothing resets when one process restarts and a call costs a few
microseconds (no network round trip on the hot path). Gauges about state (callers waiting, backlogs,
heartbeats, live sockets) are read from the database when scraped (portal/metrics_gauges.py); who may
read them, portal/metrics_access.py; live sockets are counted by portal/live_sockets.py.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable

from django.conf import settings  # noqa: F401  (settings point PROMETHEUS_MULTIPROC_DIR at a folder first)
from django.utils import timezone
from prometheus_client import Counter, Histogram, values

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


def safe(function):
    """Metrics never break the caller (a full disk, a bad label): they log and carry on."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - observability must not take the portal down
            log.warning("metric %s failed", function.__name__, exc_info=True)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


@safe
def webhook_accepted(*, event_type: str, event_id: str, created: bool, started: float | None = None) -> None:
    """A verified delivery was stored (created) or recognised as a duplicate."""
    WEBHOOKS_RECEIVED.labels(event_type).inc()
    if not created:
        WEBHOOKS_DUPLICATES.labels(event_type).inc()
    if started is not None:
        WEBHOOK_INTAKE_SECONDS.observe(time.perf_counter() - started)
    webhook_log.info("webhook %s %s", event_type, "stored" if created else "duplicate", extra={"event_id": event_id})


@safe
def webhook_refused(reason: str, started: float | None = None) -> None:
    """A delivery was refused (bad signature, stale, malformed, too large, database unavailable...)."""
    WEBHOOKS_REFUSED.labels(reason).inc()
    if started is not None:
        WEBHOOK_INTAKE_SECONDS.observe(time.perf_counter() - started)


@safe
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


@safe
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


@safe
def telnyx_error(status: int | str | None) -> None:
    """A Telnyx API call failed: its HTTP status, or "connect" (never sent), "timeout" or "lost" (sent, no answer)."""
    TELNYX_ERRORS.labels(str(status or "none")).inc()
