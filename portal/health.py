"""Liveness and readiness checks: each names itself, says whether it passed and how long it took.

Nothing here reveals a secret, a hostname or a version: failures are described in our own words,
never with the driver's message (which may carry a host or a DSN).
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from redis.backoff import NoBackoff
from redis.retry import Retry

from ops import selectors
from ops.models import Heartbeat
from webhooks.verification import public_key_problems


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


@functools.cache
def _migrations_on_disk() -> frozenset[tuple[str, str]]:
    """Every migration this release ships, read from disk once per process (the code does not change)."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def check_migrations() -> dict:
    """One query for the applied migrations; the graph is not rebuilt on every probe (issue 23)."""
    missing = _migrations_on_disk() - set(MigrationRecorder(connection).applied_migrations())
    if missing:
        raise CheckFailed(f"{len(missing)} migration(s) not applied")
    return {}


_redis_clients: dict[tuple[int, str], redis.Redis] = {}


def check_redis() -> dict:
    """PING on a client kept per process and URL: a probe opens no new connection once one is open."""
    key = (os.getpid(), settings.REDIS_URL)  # a forked child builds its own: a socket must not cross a fork
    client = _redis_clients.get(key)
    if client is None:
        client = _redis_clients[key] = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
    client.ping()
    return {}


def check_webhook_keys() -> dict:
    """Every TELNYX_PUBLIC_KEY entry is an Ed25519 key (a malformed one is skipped by the intake, and named here)."""
    problems = public_key_problems()
    if problems:
        raise CheckFailed("; ".join(problems))
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
    found.update(workers=check_workers, beat=check_beat, webhook_keys=check_webhook_keys)
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


_last: tuple[float, list[Check]] | None = None
_last_lock = threading.Lock()


def readiness(*, max_age: float = 0.0) -> list[Check]:
    """Every check's result; the process is ready when all passed.

    `max_age` (seconds): a result that recent is answered again without running the checks, so a
    load balancer probing every process often costs one round of checks per window (issue 23). One
    thread runs the checks at a time; the others wait for its answer.
    """
    global _last
    with _last_lock:
        if max_age > 0 and _last is not None and time.monotonic() - _last[0] < max_age:
            return _last[1]
        results = [run_check(name, function) for name, function in checks().items()]
        _last = (time.monotonic(), results)
        return results
