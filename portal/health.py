"""Liveness and readiness checks: each names itself, says whether it passed and how long it took.

Nothing here reveals a secret, a hostname or a version: failures are described in our own words,
never with the driver's message (which may carry a host or a DSN).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ops import selectors
from ops.models import Heartbeat


@dataclass
class Check:
    """The result of one readiness check."""

    name: str
    ok: bool
    ms: float = 0.0
    detail: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"ok": self.ok, "ms": round(self.ms, 1), **self.detail}


class CheckFailed(Exception):
    """A dependency answered, but not as it should; the message is safe to show."""


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def check_migrations() -> dict:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CheckFailed(f"{len(plan)} migration(s) not applied")
    return {}


def check_redis() -> dict:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def check_workers() -> dict:
    workers = selectors.heartbeats(Heartbeat.Kind.WORKER)
    if not workers:
        raise CheckFailed(f"no worker heartbeat in the last {settings.HEARTBEAT_STALE_SECONDS} s")
    missing = sorted(set(settings.PORTAL_TASK_QUEUES) - selectors.consumed_queues(workers))
    if missing:
        raise CheckFailed(f"no live worker consumes: {', '.join(missing)}")
    return {"workers": len(workers)}


def check_beat() -> dict:
    if not selectors.heartbeats(Heartbeat.Kind.BEAT):
        raise CheckFailed(f"no beat heartbeat in the last {settings.HEARTBEAT_STALE_SECONDS} s")
    return {}


def checks() -> dict[str, Callable[[], dict]]:
    """The readiness checks in order; Redis only when it is configured."""
    found = {"database": check_database, "migrations": check_migrations}
    if settings.REDIS_URL:
        found["redis"] = check_redis
    found.update(workers=check_workers, beat=check_beat)
    return found


def run_check(name: str, function: Callable[[], dict]) -> Check:
    """Run one check, timing it; any exception is a failure described without the driver's words."""
    started = time.perf_counter()
    try:
        detail = function() or {}
        ok = True
    except CheckFailed as failure:
        ok, detail = False, {"error": str(failure)}
    except Exception as exc:  # noqa: BLE001 - a readiness check reports, it never raises
        ok, detail = False, {"error": f"unreachable ({type(exc).__name__})"}
    return Check(name, ok, (time.perf_counter() - started) * 1000, detail)


def readiness() -> list[Check]:
    """Every check's result; the process is ready when all passed."""
    return [run_check(name, function) for name, function in checks().items()]
