"""Benchmarks 4 and 5 in-process: page and API server time and queries at scale; sync from a fake Telnyx.

Both run with Django's test client against the configured database (PostgreSQL under `make bench`,
SQLite in the smoke test), so they measure server time and count every SQL query of a request.
"""
from __future__ import annotations

import gc
import json
import random
import statistics
import threading
import time
from datetime import timedelta

from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from bench import load
from bench.stack import rss_kib

# The sizes named in issue 13; `scale` multiplies them (the smoke test uses a tiny fraction).
FULL_SIZES = {
    "conferences": 10_000, "participants": 100_000, "queues": 2_000, "queued_calls": 200_000, "calls": 100_000,
    "recordings": 100_000, "events": 1_000_000,
    "commands": 10_000,  # not in issue 13's list: enough for the Commands pages to have something to page
}
SKIP_URL_NAMES = {"login", "logout", "password_change", "password_change_done", "action-issue", "telnyx-webhook",
                  "bench-bare-webhook", "metrics", "healthz", "readyz"}
SKIP_PREFIXES = ("admin/", "static/", "favicon", "api/v1/schema", "api/v1/docs", "api/v1/redoc", "__")


def sizes(scale: float) -> dict[str, int]:
    return {k: max(2, int(v * scale)) for k, v in FULL_SIZES.items()}


# --- data -----------------------------------------------------------------------------------------
def generate(counts: dict[str, int], *, batch: int = 5000, log=print) -> dict:
    """Bulk-create rows of every model the pages list; fields nobody set get plausible values by type."""
    from calls.models import Call
    from conferencing.models import Conference, Participant
    from queues.models import Queue, QueuedCall
    from recordings.models import Recording
    from webhooks.models import WebhookEvent

    started = time.monotonic()
    now = timezone.now()
    conference_statuses = _choices(Conference, "status")
    conferences = _bulk(Conference, counts["conferences"], batch, lambda i: {
        "conference_id": f"sconf-{i}", "name": f"Conference {i}",
        **({"status": conference_statuses[i % len(conference_statuses)]} if conference_statuses else {}),
    })
    conference_pks = list(Conference.objects.values_list("pk", flat=True))
    _bulk(Participant, counts["participants"], batch, lambda i: {
        "conference_id": conference_pks[i % len(conference_pks)], "call_control_id": f"v3:spart-{i}",
    })
    _bulk(Queue, counts["queues"], batch, lambda i: {"name": f"squeue-{i}"})
    queue_pks = list(Queue.objects.values_list("pk", flat=True))
    _bulk(QueuedCall, counts["queued_calls"], batch, lambda i: {
        "queue_id": queue_pks[i % len(queue_pks)], "call_control_id": f"v3:sq-{i}",
        **({"left_at": now - timedelta(seconds=i)} if i % 50 else {}),
    })
    _bulk(Call, counts["calls"], batch, lambda i: {"call_control_id": f"v3:scall-{i}"})
    _bulk(Recording, counts["recordings"], batch, lambda i: {"recording_id": f"srec-{i}"})
    from portal.models import Command

    _bulk(Command, counts["commands"], batch, lambda i: {"action": "conference.mute", "target": f"sconf-{i % 100}"})
    _events(counts["events"], start=WebhookEvent.objects.count(), log=log)
    log(f"  generated {sum(counts.values()):,} rows in {time.monotonic() - started:.0f} s")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What autovacuum does after a bulk load in production (this machine's PostgreSQL runs with
            # autovacuum off): statistics, and the visibility map that lets counts scan indexes only.
            # (VACUUM cannot run in a transaction: the smoke test's, under the PostgreSQL profile.)
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    return {"rows": counts, "seconds": round(time.monotonic() - started, 1), "conferences": conferences}


def _choices(model, name: str) -> list:
    try:
        return [value for value, _ in model._meta.get_field(name).choices or []]
    except Exception:  # noqa: BLE001 - a model without that field
        return []


def _bulk(model, count: int, batch: int, specific) -> int:
    """Insert `count` rows in batches; `specific(i)` gives the fields that matter, the rest is synthesized."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    start = model.objects.count()
    made = 0
    for first in range(start, start + count, batch):
        rows = []
        for i in range(first, min(start + count, first + batch)):
            values = specific(i)
            for field in fields:
                if field.attname in values or field.name in values:
                    continue
                value = _synthesize(field, i)
                if value is not _DEFAULT:
                    values[field.attname] = value
            rows.append(model(**values))
        model.objects.bulk_create(rows, batch_size=batch)
        made += len(rows)
    return made


_DEFAULT = object()
_EPOCH = []  # set on first use: settings are not configured when this module is imported


def _synthesize(field: models.Field, i: int):
    """A value for a field the generator does not know: its default if it has one, else one by type."""
    if field.has_default() or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return _DEFAULT
    if field.null:
        return None
    if field.choices:
        choices = [c for c, _ in field.flatchoices]
        return choices[i % len(choices)]
    if isinstance(field, models.ForeignKey):
        return _DEFAULT
    if not _EPOCH:
        _EPOCH.append(timezone.now())
    if isinstance(field, models.DateTimeField):
        return _EPOCH[0] - timedelta(seconds=i)
    if isinstance(field, models.DateField):
        return (_EPOCH[0] - timedelta(days=i % 365)).date()
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
        return i % 100
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.UUIDField):
        import uuid

        return uuid.uuid4()
    if isinstance(field, models.CharField | models.TextField):
        text = f"{field.name}-{i}"
        return text[: field.max_length] if field.max_length else text
    return _DEFAULT


def _events(count: int, *, start: int = 0, log=print) -> None:
    """Webhook events: COPY on PostgreSQL (a million rows in a couple of minutes), bulk_create elsewhere."""
    from bench.events import fixture_types
    from webhooks.models import WebhookEvent
    from webhooks.store import partition_of, resource_keys

    types = fixture_types()
    statuses = ["processed"] * 18 + ["ignored", "failed"]
    now = timezone.now()
    rng = random.Random(4)

    def row(i: int):
        i += start
        event_type = types[i % len(types)]
        payload = {"call_control_id": f"v3:scall-{i % 100_000}", "conference_id": f"sconf-{i % 10_000}"}
        body = json.dumps({"data": {"id": f"sev-{i}", "event_type": event_type, "payload": payload}})
        received = now - timedelta(seconds=start + count - i)
        return (f"sev-{i}", event_type, received, received, body, json.dumps(payload), payload["call_control_id"],
                "", payload["conference_id"] if event_type.startswith("conference") else "", "", "",
                statuses[rng.randrange(len(statuses))], 1, "", received,
                partition_of(payload, resource_keys(payload), f"sev-{i}"))  # the drains' partition (issue 25)

    columns = ("event_id", "event_type", "occurred_at", "received_at", "raw_body", "payload", "call_control_id",
               "call_session_id", "conference_id", "queue_name", "recording_id", "status", "attempts", "last_error",
               "processed_at", "partition")
    if connection.vendor == "postgresql":
        from webhooks import time_partitions

        time_partitions.ensure_between(now - timedelta(seconds=start + count), now)  # the events table is partitioned
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY webhooks_webhookevent ({', '.join(columns)}) FROM STDIN") as copy:
                for i in range(count):
                    copy.write_row(row(i))
                    if i and i % 200_000 == 0:
                        log(f"  events: {i:,}")
        return
    objects = []
    for i in range(count):
        values = dict(zip(columns, row(i), strict=True))
        values["payload"] = json.loads(values["payload"])
        objects.append(WebhookEvent(**values))
    WebhookEvent.objects.bulk_create(objects, batch_size=2000)


# --- pages ----------------------------------------------------------------------------------------
def page_urls() -> list[tuple[str, str]]:
    """(name, url) of every list page, detail page and list API endpoint, found in the URLconf."""
    from calls.models import Call
    from conferencing.models import Conference
    from portal.models import Command
    from queues.models import Queue
    from recordings.models import Recording
    from webhooks.models import WebhookEvent

    samples = {
        "conferencing": Conference.objects.order_by("pk").first(), "calls": Call.objects.order_by("pk").first(),
        "queues": Queue.objects.order_by("pk").first(), "recordings": Recording.objects.order_by("pk").first(),
        "webhooks": WebhookEvent.objects.order_by("pk").first(), "portal": Command.objects.order_by("pk").first(),
    }
    found = []
    for route, namespace, pattern in _walk(get_resolver().url_patterns):
        name = pattern.name or ""
        if name in SKIP_URL_NAMES or route.lstrip("^").startswith(SKIP_PREFIXES) or "actions" in route:
            continue
        kwargs_wanted = list(getattr(pattern.pattern, "converters", {}) or pattern.pattern.regex.groupindex)
        if "format" in kwargs_wanted or "plural" in kwargs_wanted or not name:
            continue
        app = (getattr(pattern.callback, "__module__", "") or "").split(".")[0]
        instance = samples.get(app)
        kwargs = {}
        for kwarg in kwargs_wanted:
            value = getattr(instance, kwarg, None) if instance is not None else None
            if value is None and instance is not None:
                for attribute in ("conference_id", "call_control_id", "name", "recording_id", "pk"):
                    if hasattr(instance, attribute):
                        value = getattr(instance, attribute)
                        break
            if value is None:
                break
            kwargs[kwarg] = value
        if len(kwargs) != len(kwargs_wanted):
            continue
        try:
            url = reverse(f"{namespace}:{name}" if namespace else name, kwargs=kwargs)
        except NoReverseMatch:
            continue
        found.append((f"{namespace}:{name}" if namespace else name, url))
    return sorted(set(found), key=lambda item: item[1])


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace, entry


def measure_pages(client, urls: list[tuple[str, str]], *, repeat: int = 15) -> list[dict]:
    """Server time p50/p95 and SQL queries per request of each URL (HTMX partials included as-is).

    The objects alive before measuring (this process generated the data) are frozen out of the
    collector first, as every server process freezes its start-up objects (portal/gc_freeze.py):
    otherwise a full collection over them lands inside one request (~250 ms, always the same URL).
    Collections of the requests' own garbage still count; their longest pause is reported.
    """
    out = []
    pauses = _CollectorPauses()
    gc.collect()
    gc.freeze()
    gc.callbacks.append(pauses)
    try:
        for name, url in urls:
            timings, queries, status = [], None, None
            pauses.longest = 0.0
            for k in range(repeat):
                with CaptureQueriesContext(connection) as captured:
                    began = time.perf_counter()
                    response = client.get(url, HTTP_ACCEPT="text/html,application/json")
                    timings.append(time.perf_counter() - began)
                status = response.status_code
                queries = len(captured.captured_queries) if k == 0 else queries
                if status != 200:
                    break
            out.append({"name": name, "url": url, "status": status, "queries": queries,
                        "p50_ms": round(statistics.median(timings) * 1000, 1),
                        "p95_ms": load.percentiles(timings)["p95_ms"], "gc_pause_max_ms": round(pauses.longest * 1000, 1)})
    finally:
        gc.callbacks.remove(pauses)
        gc.unfreeze()
    return out


class _CollectorPauses:
    """A gc callback keeping the longest collection since `longest` was last reset."""

    def __init__(self):
        self.longest, self._began = 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._began)


def pages(*, small_scale: float, scale: float, repeat: int = 15, log=print) -> dict:
    """Measure every page at a small size, grow the data to `scale`, measure again: queries must not grow."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    generate(sizes(small_scale), log=log)
    urls = page_urls()
    small = {r["url"]: r for r in measure_pages(client, urls, repeat=3)}
    grown = {k: v - sizes(small_scale)[k] for k, v in sizes(scale).items()}
    generated = generate(grown, log=log)
    large = measure_pages(client, urls, repeat=repeat)
    for row in large:
        before = small.get(row["url"], {})
        row["queries_small"] = before.get("queries")
        row["query_growth"] = (row["queries"] or 0) - (before.get("queries") or 0)
    served = [r for r in large if r["status"] == 200]
    return {"sizes": sizes(scale), "generation_seconds": generated["seconds"], "pages": served,
            "not_measured": [f"{r['url']} ({r['status']})" for r in large if r["status"] != 200],
            "max_list_p95_ms": max((r["p95_ms"] or 0) for r in served),
            "grew": [r["url"] for r in served if r["query_growth"] > 0]}


# --- sync -----------------------------------------------------------------------------------------
class _Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class _PeakRss:
    """Sample this process's RSS every 50 ms while a sync runs."""

    def __init__(self):
        self.peak = self.start = rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_kib())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.end = rss_kib()


def syncs(names: list[str] | None = None) -> list[dict]:
    """Run each app's full sync (SYNCS) once: wall time, SQL queries, memory (start, peak, end)."""
    from portal.sync import full_syncs

    out = []
    for name, function in full_syncs().items():
        if names and name not in names:
            continue
        counter = _Counter()
        with connection.execute_wrapper(counter), _PeakRss() as rss:
            began = time.monotonic()
            try:
                result, error = function(), None
            except Exception as exc:  # noqa: BLE001 - report what could not be measured, go on
                result, error = None, f"{type(exc).__name__}: {exc}"[:300]
            seconds = time.monotonic() - began
        out.append({"name": name, "seconds": round(seconds, 2), "queries": counter.count, "result": _plain(result),
                    "error": error, "rss_start_mib": round(rss.start / 1024, 1), "rss_peak_mib": round(rss.peak / 1024, 1),
                    "rss_growth_mib": round((rss.peak - rss.start) / 1024, 1)})
    return out


def _plain(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)[:300]

