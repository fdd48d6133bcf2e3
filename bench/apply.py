"""The apply benchmark (issue 25): events/s applied from a backlog by 1, 2 (, 4) drain processes, beside the naive reference."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench import events
from bench.stack import ROOT, Stack

NAIVE_SECONDS = 60


def apply(stack: Stack, *, backlog: int = 100_000, workers: tuple[int, ...] = (1, 2), naive_seconds: float = NAIVE_SECONDS,
          timeout: float = 1800) -> dict:
    """Each run starts from the same state: no calls, conferences, queues or recordings, and `backlog` pending
    events of new calls.

    The stack's Celery worker is stopped meanwhile (nothing else applies); the web processes stay idle.
    """
    if (os.cpu_count() or 1) >= 4 and 4 not in workers:
        workers = (*workers, 4)
    stack.stop("worker")  # bench/__main__.py starts it again after this part
    runs = []
    for count in workers:
        _load(backlog, prefix=f"w{count}")
        runs.append({"workers": count, **_run(stack, count, "drain", timeout)})
    _load(backlog, prefix="naive")
    naive = _run(stack, 1, "naive", naive_seconds)
    one = runs[0]["applied_per_s"]
    for run in runs:
        run["vs_one"] = round(run["applied_per_s"] / one, 2) if one else None
        run["vs_naive"] = round(run["applied_per_s"] / naive["applied_per_s"], 2) if naive["applied_per_s"] else None
    return {"backlog": backlog, "runs": runs, "naive": naive}


# What applying events writes: emptied before each run, so every run starts from the same state. Left in
# place, the second run applied onto the first one's calls and its queues' lines of hundreds of waiting
# callers, and the runs could not be compared.
APPLIED_APPS = ("calls", "conferencing", "queues", "recordings")


def _load(count: int, *, prefix: str) -> None:
    """Empty the events and what applying them wrote, then store `count` realistic pending events (the
    intake's own columns and partition)."""
    from django.apps import apps
    from django.db import connection

    from webhooks.models import WebhookEvent
    from webhooks.store import occurred_at, partition_of, resource_keys

    applied = [model for label in APPLIED_APPS for model in apps.get_app_config(label).get_models()]
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in [WebhookEvent, *applied])
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # inside a transaction (the tests): checks pending
            cursor.execute(f"TRUNCATE {tables} CASCADE")
    else:  # the harness's smoke test (SQLite)
        for model in [WebhookEvent, *reversed(applied)]:
            model.objects.all().delete()
    rows, seen = [], set()
    for delivery in events.mix(count, prefix=prefix, duplicates=0):
        document = json.loads(delivery.body)
        data = document.get("data", document)
        if data["id"] in seen:
            continue
        seen.add(data["id"])
        payload = data.get("payload") or {}
        keys = resource_keys(payload)
        rows.append(WebhookEvent(
            event_id=data["id"], event_type=data["event_type"], occurred_at=occurred_at(data), raw_body=delivery.body.decode(),
            payload=payload, partition=partition_of(payload, keys, data["id"]), **keys,
        ))
        if len(rows) == 5000:
            WebhookEvent.objects.bulk_create(rows)
            rows = []
    WebhookEvent.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_webhookevent")


def _run(stack: Stack, count: int, mode: str, seconds: float) -> dict:
    from webhooks.models import WebhookEvent

    started = time.monotonic()
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench.drainer", mode, str(seconds)], env=stack.env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=open(stack.log_dir / f"drainer-{mode}-{i}.log", "ab"))  # noqa: SIM115
        for i in range(count)
    ]
    outs = []
    for process in processes:
        lines = process.communicate(timeout=seconds + 120)[0].decode().strip().splitlines()
        outs.append(json.loads(lines[-1]) if lines else {"crashed": True, "applied": 0, "wall_s": 0, "cpu_s": 0, "db_cpu_s": 0})
    # The drainers' own clocks (from after Django's start-up), the slowest one: the backlog's end.
    wall = max(o["wall_s"] for o in outs) or time.monotonic() - started
    applied = WebhookEvent.objects.exclude(status=WebhookEvent.Status.PENDING).count()  # a crashed drainer's too
    cpu, db_cpu = sum(o["cpu_s"] for o in outs), sum(o["db_cpu_s"] for o in outs)
    return {
        "applied": applied, "wall_s": round(wall, 2), "applied_per_s": round(applied / wall, 1) if wall else 0,
        "cpu_ms_per_event": round(1000 * cpu / applied, 3) if applied else None,
        "db_cpu_ms_per_event": round(1000 * db_cpu / applied, 3) if applied else None,
        "per_process": outs,
    }
