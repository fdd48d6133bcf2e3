"""Benchmark 7 in-process: one alert evaluation's time and queries as rules x queues grow (issue 26).

The rule: the number of queries does not grow with the number of rules or queues. Each size starts
afresh: N queues with a caller waiting each, M rules over every metric (queue rules without a queue,
so each watches every queue), one evaluation that fires, then steady evaluations timed.
"""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

SIZES = [(8, 10), (40, 100), (80, 500)]  # (rules, queues)
PREFIX = "bench-alerts-"
METRICS = ["longest_wait_secs", "callers_waiting", "service_level_percent", "abandon_rate_percent",
           "failed_commands", "failed_events", "webhook_lag_secs", "workers_missing"]


def _reset() -> None:
    from alerts.models import Alert, AlertRule
    from queues.models import Queue

    Alert.objects.filter(rule_name__startswith=PREFIX).delete()
    AlertRule.objects.filter(name__startswith=PREFIX).delete()
    Queue.objects.filter(name__startswith=PREFIX).delete()


def _populate(rules: int, queues: int) -> None:
    from alerts.models import AlertRule
    from queues.models import Queue, QueuedCall

    now = timezone.now()
    made = Queue.objects.bulk_create([Queue(name=f"{PREFIX}{i}") for i in range(queues)])
    QueuedCall.objects.bulk_create([
        QueuedCall(queue=q, call_control_id=f"v3:{PREFIX}{q.pk}", enqueued_at=now - timedelta(seconds=90)) for q in made
    ])
    AlertRule.objects.bulk_create([
        AlertRule(name=f"{PREFIX}{i}", metric=METRICS[i % len(METRICS)], operator=">", threshold=0, for_secs=0)
        for i in range(rules)
    ])


def evaluation(sizes=SIZES, *, repeat: int = 5, log=print) -> dict:
    """Per size: queries and ms of the evaluation that fires, then of steady ones (alerts held, nothing new)."""
    from alerts.evaluation import evaluate
    from alerts.models import Alert, AlertRule

    # Other rules (defaults, a run's own) would be measured too: only the bench's rules are enabled meanwhile.
    enabled = list(AlertRule.objects.filter(enabled=True).exclude(name__startswith=PREFIX).values_list("pk", flat=True))
    AlertRule.objects.filter(pk__in=enabled).update(enabled=False)
    rows = []
    try:
        for rules, queues in sizes:
            _reset()
            _populate(rules, queues)
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as first:
                fired = len(evaluate().fired)
            first_ms = (time.perf_counter() - started) * 1000
            times, counts = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as steady:
                    evaluate()
                times.append((time.perf_counter() - started) * 1000)
                counts.append(len(steady.captured_queries))
            row = {"rules": rules, "queues": queues, "alerts_open": Alert.objects.filter(
                       rule_name__startswith=PREFIX, resolved_at__isnull=True).count(),
                   "fired": fired, "queries_firing": len(first.captured_queries), "ms_firing": round(first_ms, 1),
                   "queries": max(counts), "p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
            log(f"  alerts {rules} rules x {queues} queues: {row['queries']} queries, p50 {row['p50_ms']} ms "
                f"(firing {row['fired']}: {row['queries_firing']} queries, {row['ms_firing']} ms)")
            rows.append(row)
    finally:
        _reset()
        AlertRule.objects.filter(pk__in=enabled).update(enabled=True)
    steady = {row["queries"] for row in rows}
    return {"sizes": rows, "constant": len(steady) == 1}
