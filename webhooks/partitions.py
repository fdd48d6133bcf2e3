"""Which drain applies which partition: one holder per partition, shares rebalanced by the drains themselves.

PostgreSQL session advisory locks (issue 25): a drain holds a member lock for as long as it runs and a
partition lock per partition it applies. Every WEBHOOK_REBALANCE_SECONDS it counts the members and keeps
its share, ceil(partitions / members): it lets go of the extras (between batches, after their commit)
and tries free ones. Locks are only ever *tried*, never waited for, so drains cannot deadlock on them;
a drain that dies (process killed, connection lost) loses its locks with its connection, and its
uncommitted batch rolls back to pending for whoever takes the partition next. SQLite keeps one drain,
holding every partition without locks (its write lock serializes writers anyway).
"""
from __future__ import annotations

import math
import time
import zlib

from django.conf import settings
from django.db import connections

MEMBER_CLASS = 0x5745  # pg_advisory_lock(MEMBER_CLASS, backend pid): "a drain runs here"
PARTITION_CLASS = 0x5750  # pg_advisory_lock(PARTITION_CLASS, partition): "this drain applies it"
MAX_PARTITIONS = 256  # stored values stay below this, whatever WEBHOOK_PARTITIONS was when they arrived

# Granted two-key advisory locks of one class (the first key) in this database: drains' members or partitions.
_GRANTED = (
    "FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objsubid = 2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_MEMBERS_SQL = f"SELECT count(*) {_GRANTED}"
_HELD_SQL = f"SELECT count(DISTINCT objid) {_GRANTED} AND objid::bigint < %s"


def all_held(db=None) -> bool:
    """Every partition is held by a running drain (PostgreSQL only: SQLite's one drain holds no locks)."""
    db = db or connections["default"]
    if db.vendor != "postgresql":
        return False
    count = settings.WEBHOOK_PARTITIONS
    with db.cursor() as cursor:
        cursor.execute(_HELD_SQL, [PARTITION_CLASS, count])
        return cursor.fetchone()[0] >= count


def aliases(partition: int, count: int) -> list[int]:
    """Stored partition values applied as `partition`: itself and those stored under a larger WEBHOOK_PARTITIONS."""
    return list(range(partition, MAX_PARTITIONS, count))


class Holdings:
    """The partitions one drain holds on its database connection."""

    def __init__(self, db=None):
        self.db = db or connections["default"]
        self.count = settings.WEBHOOK_PARTITIONS
        self.locking = self.db.vendor == "postgresql"
        self.held: set[int] = set() if self.locking else set(range(self.count))
        self.members = 1
        self._balanced_at = float("-inf")
        self._start = 0
        self._pid = None
        self._jit = "on"  # the session's JIT setting before join(), given back by leave()

    # -- membership -------------------------------------------------------------------------------
    def join(self) -> None:
        if self.locking:
            # Without JIT for as long as the drain runs (given back as it leaves). PostgreSQL compiles a query
            # whose estimated cost passes jit_above_cost, and its estimate for a claim of 200 events
            # (a LIMIT per partition) passed it: 12-15 ms of compiling for a claim that runs in 6 ms,
            # every batch of a backlog. Nothing a drain runs is long enough to gain from JIT.
            self._jit = self._one("SELECT current_setting('jit')", [])
            self._one("SELECT set_config('jit', 'off', false)", [])
            self._pid = pid = self._one("SELECT pg_backend_pid()", [])
            self._one("SELECT pg_advisory_lock(%s, %s)", [MEMBER_CLASS, pid])
            # Each drain starts trying at its own place, so newcomers do not all contend for partition 0.
            self._start = zlib.crc32(str(pid).encode()) % self.count

    def leave(self) -> None:
        """Let go of every partition and of the membership (also done by the connection closing)."""
        if self.locking and self._pid is not None and self.db.connection is not None:
            self.release_all()
            self._one("SELECT pg_advisory_unlock(%s, %s)", [MEMBER_CLASS, self._pid])
            self._one("SELECT set_config('jit', %s, false)", [self._jit])
            self._pid = None

    # -- shares -----------------------------------------------------------------------------------
    def balance(self, *, now: float | None = None, force: bool = False) -> None:
        """Keep this drain's share: at most every WEBHOOK_REBALANCE_SECONDS unless forced."""
        if not self.locking:
            return
        now = time.monotonic() if now is None else now
        if not force and now - self._balanced_at < settings.WEBHOOK_REBALANCE_SECONDS:
            return
        self._balanced_at = now
        self.members = max(1, self._one(_MEMBERS_SQL, [MEMBER_CLASS]))
        share = math.ceil(self.count / self.members)
        for partition in sorted(self.held, reverse=True)[: max(0, len(self.held) - share)]:
            self._release(partition)
        if len(self.held) < share:
            self._take(share)

    def take_all(self) -> bool:
        """Try every partition not held (a drain's last look before it ends); True if all are now held."""
        if self.locking:
            self._take(self.count)
        return len(self.held) == self.count

    def release_all(self) -> None:
        if not self.locking:
            return  # SQLite's one drain keeps every partition
        for partition in sorted(self.held):
            self._release(partition)

    def keys(self) -> list[int] | None:
        """The stored partition values this drain may claim; None: every event (SQLite's one drain)."""
        if not self.locking:
            return None
        return sorted(value for partition in self.held for value in aliases(partition, self.count))

    # -- locks ------------------------------------------------------------------------------------
    def _take(self, wanted: int) -> None:
        for step in range(self.count):
            if len(self.held) >= wanted:
                return
            partition = (self._start + step) % self.count
            if partition not in self.held and self._one("SELECT pg_try_advisory_lock(%s, %s)", [PARTITION_CLASS, partition]):
                self.held.add(partition)

    def _release(self, partition: int) -> None:
        self._one("SELECT pg_advisory_unlock(%s, %s)", [PARTITION_CLASS, partition])
        self.held.discard(partition)

    def _one(self, sql: str, params: list):
        with self.db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
