"""Time partitions of the events table on PostgreSQL (issue 32): made ahead, made on demand, dropped whole.

`webhooks_webhookevent` is partitioned by range of `received_at` (migration 0009): one partition per
UTC month, or per UTC day with EVENT_PARTITION_SPAN=day. Beat creates EVENT_PARTITIONS_AHEAD spans
ahead; an insert that finds no partition for its row creates it and tries again (webhooks/store.py),
so a stopped beat never fails a delivery. Retention detaches a partition CONCURRENTLY (the intake keeps
inserting meanwhile) and drops it (webhooks/retention.py). SQLite keeps one table: every function
here is a no-op there.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

log = logging.getLogger(__name__)
TABLE = "webhooks_webhookevent"  # WebhookEvent's table (webhooks/models.py imports this module)
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime
    end: datetime
    detaching: bool = False  # a DETACH ... CONCURRENTLY was interrupted: FINALIZE completes it


def is_partitioned(using: str = "default") -> bool:
    """True on PostgreSQL once the events table is partitioned."""
    db = connections[using]
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def span_of(moment: datetime, span: str | None = None) -> tuple[datetime, datetime]:
    """The UTC month (or day) holding `moment`, as [start, end)."""
    span = span or settings.EVENT_PARTITION_SPAN
    moment = moment.astimezone(UTC)
    if span == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def partition_name(start: datetime, end: datetime) -> str:
    """`webhooks_webhookevent_p2026_12` (a month) or `..._p2026_12_05` (a day)."""
    return f"{TABLE}_p{start:%Y_%m}" if end - start > timedelta(days=1) else f"{TABLE}_p{start:%Y_%m_%d}"


def partitions(using: str = "default") -> list[Partition]:
    """The events table's partitions, oldest first (empty on SQLite or before the table is partitioned)."""
    db = connections[using]
    if db.vendor != "postgresql":
        return []
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), i.inhdetachpending FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound, detaching in rows:
        match = _BOUND.search(bound or "")
        if match:
            start, end = (datetime.fromisoformat(value).astimezone(UTC) for value in match.groups())
            found.append(Partition(name, start, end, detaching))
    return sorted(found, key=lambda p: p.start)


def ensure_partition(moment: datetime, using: str = "default") -> bool:
    """Create the partition that holds `moment` unless one does; True if this call created it.

    Idempotent and safe to race: names are derived from the bounds (IF NOT EXISTS), and a span that
    overlaps an existing partition (EVENT_PARTITION_SPAN changed) is cut to the gap it falls in.
    """
    existing = partitions(using)
    if any(p.start <= moment < p.end for p in existing):
        return False
    start, end = span_of(moment)
    for p in existing:  # after a change of span, fill only the gap between neighbours
        if p.end <= moment:
            start = max(start, p.end)
        elif p.start > moment:
            end = min(end, p.start)
    name = partition_name(start, end)
    db = connections[using]
    quote = db.ops.quote_name
    try:
        with db.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {quote(name)} PARTITION OF {quote(TABLE)} "
                "FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
    except DatabaseError:
        # Another process created an overlapping one a moment ago: what counts is that it exists now.
        if not any(p.start <= moment < p.end for p in partitions(using)):
            raise
        return False
    log.info("events partition %s created (%s to %s)", name, start.isoformat(), end.isoformat())
    return True


def ensure_between(start: datetime, end: datetime, using: str = "default") -> list[str]:
    """Make every partition from `start` to `end` (bulk loads of old rows: the benchmarks, migration 0006)."""
    created, moment = [], start
    while moment <= end:
        if ensure_partition(moment, using):
            created.append(partition_name(*span_of(moment)))
        moment = span_of(moment)[1]
    return created


def ensure_ahead(*, now: datetime | None = None, ahead: int | None = None, using: str = "default") -> list[str]:
    """Make the partitions of now and the next `ahead` spans (EVENT_PARTITIONS_AHEAD); names of those created."""
    if not is_partitioned(using):
        return []
    now = now or timezone.now()
    ahead = settings.EVENT_PARTITIONS_AHEAD if ahead is None else ahead
    created, moment = [], now
    for _ in range(ahead + 1):
        if ensure_partition(moment, using):
            created.append(partition_name(*span_of(moment)))
        moment = span_of(moment)[1]
    return created


def is_missing_partition(error: BaseException) -> bool:
    """The error PostgreSQL raises for a row no partition takes (SQLSTATE 23514, "no partition of relation")."""
    return "no partition of relation" in str(error)


def detach_and_drop(partition: Partition, using: str = "default") -> None:
    """Detach a partition without blocking inserts, then drop it (two steps: the benchmarks time each)."""
    detach(partition, using)
    drop(partition, using)


def detach(partition: Partition, using: str = "default") -> None:
    """Take a partition out of the events table without blocking inserts (CONCURRENTLY, outside any transaction).

    Inside a caller's transaction (tests) CONCURRENTLY is not allowed: a plain DETACH, which waits for
    the table's other users, is the same change.
    """
    db = connections[using]
    concurrently = " FINALIZE" if partition.detaching else "" if db.in_atomic_block else " CONCURRENTLY"
    with db.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {db.ops.quote_name(TABLE)} DETACH PARTITION {db.ops.quote_name(partition.name)}{concurrently}")


def drop(partition: Partition, using: str = "default") -> None:
    """Drop a detached partition's table."""
    db = connections[using]
    with db.cursor() as cursor:
        cursor.execute(f"DROP TABLE {db.ops.quote_name(partition.name)}")
    log.info("events partition %s dropped (%s to %s)", partition.name, partition.start.isoformat(), partition.end.isoformat())
