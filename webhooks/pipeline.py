"""A drain's writes sent without waiting for each answer: PostgreSQL's pipeline mode (issue 25).

A batch saved a call leg about once per event and waited for the server's answer each time, while the
server had the other core free. Inside `pipelined()` (a drain's optimistic batch), a statement run
through `execute_deferred` is sent and the drain goes on with the next event; PostgreSQL applies it
meanwhile. Nothing else changes:

- Every other statement, Django's included, is synced as soon as it has run (an execute_wrapper), so
  what its caller reads (rows, rowcount, description, its own errors) is what it reads outside a pipeline.
- The server runs every statement in the order sent, so a later read sees the deferred writes.
- A deferred statement's result is checked at the next sync (its `on_result`), at the latest before the
  batch commits. A failure there surfaces in whichever statement synced; in an optimistic batch any
  failure rolls the batch back and applies it again event by event, without a pipeline, where each
  error is its own event's again.

SQLite, and anything outside a pipeline, runs a deferred statement at once and checks it there.
"""
from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable
from contextvars import ContextVar

import psycopg
from django.conf import settings
from django.db import DatabaseError, connections
from psycopg import pq

OnResult = Callable[[object], None]
ID_POOL_SIZE = 64  # ids a process takes from a table's sequence at once; unused ones are only gaps
# Per connection (a new database, as in tests and the bench, starts new pools); a sequence's values are
# never handed out twice, whatever becomes of the transaction that took them.
_id_pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_active: ContextVar[_Pipeline | None] = ContextVar("webhooks_pipeline", default=None)


def cursor_for(db):
    """A server-side binding cursor on `db`, wrapped as Django wraps its own (errors, execute_wrapper, query log).

    psycopg prepares a statement once it has run DATABASE_PREPARE_THRESHOLD times on a connection
    (portal/settings.py); Django's own cursors bind on the client and are never prepared.
    """
    db.ensure_connection()
    raw = psycopg.Cursor(db.connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


def name_logged(db, sql: str, params: tuple) -> None:
    """Where queries are logged (DEBUG, tests), give a prepared statement's run its text: psycopg keeps none."""
    if db.queries_logged and db.queries_log and db.queries_log[-1]["sql"] is None:
        db.queries_log[-1]["sql"] = db.ops.compose_sql(sql, params)


class _Pipeline:
    def __init__(self, db, pipe):
        self.db, self.pipe = db, pipe
        self.deferring = False
        self.unchecked: list[tuple[object, OnResult | None]] = []

    def sync_after(self, execute, sql, params, many, context):
        """Django's execute_wrapper: a statement not deferred is answered before its caller reads it."""
        result = execute(sql, params, many, context)
        if not self.deferring:
            self.sync()
        return result

    def sync(self) -> None:
        """Receive every answer so far and check the deferred statements' results."""
        unchecked, self.unchecked = self.unchecked, []
        try:
            with self.db.wrap_database_errors:
                self.pipe.sync()
            for cursor, on_result in unchecked:
                if on_result is not None:
                    on_result(cursor)
        finally:
            for cursor, _ in unchecked:
                cursor.close()


@contextlib.contextmanager
def pipelined(using: str = "default"):
    """Run the block in pipeline mode (PostgreSQL, WEBHOOK_PIPELINED_WRITES on); its deferred writes are
    all answered and checked when it ends without an error."""
    db = connections[using]
    if db.vendor != "postgresql" or not settings.WEBHOOK_PIPELINED_WRITES or _active.get() is not None:
        yield
        return
    db.ensure_connection()
    with db.wrap_database_errors, db.connection.pipeline() as pipe:
        state = _Pipeline(db, pipe)
        token = _active.set(state)
        try:
            with db.execute_wrapper(state.sync_after):
                yield
                state.sync()
        finally:
            _active.reset(token)
    if db.connection.info.transaction_status == pq.TransactionStatus.INERROR:
        # A statement failed and whoever synced it swallowed the error: the batch must not look applied.
        raise DatabaseError("a statement of this transaction failed while pipelined")


def execute_deferred(db, sql: str, params: tuple, on_result: OnResult | None = None) -> None:
    """Run one statement (prepared once per connection) whose answer nobody waits for; `on_result(cursor)`
    checks it when it comes (at once outside a pipeline). On SQLite, through Django's cursor."""
    state = _active.get()
    if state is None or state.db.alias != db.alias:
        with (cursor_for(db) if db.vendor == "postgresql" else db.cursor()) as cursor:
            cursor.execute(sql, params)
            name_logged(db, sql, params)
            if on_result is not None:
                on_result(cursor)
        return
    cursor = cursor_for(db)
    state.deferring = True
    try:
        cursor.execute(sql, params)
    except BaseException:
        cursor.close()
        raise
    finally:
        state.deferring = False
    name_logged(db, sql, params)
    state.unchecked.append((cursor, on_result))


@contextlib.contextmanager
def deferring(using: str = "default"):
    """Django statements run in the block are sent without waiting for their answers, when pipelined.

    Only for statements whose caller reads nothing back (an UPDATE whose count is ignored, an INSERT
    that ignores conflicts): in a pipeline their rowcount reads -1. Their errors surface at the next sync.
    """
    state = _active.get()
    if state is None or state.db.alias != using or state.deferring:
        yield
        return
    state.deferring = True
    try:
        yield
    finally:
        state.deferring = False


def next_id(model) -> int | None:
    """A primary key for a new row of `model`, taken from its sequence ahead of the INSERT, when pipelined:
    the INSERT then needs no RETURNING, so nothing waits for it. None outside a pipeline."""
    state = _active.get()
    if state is None:
        return None
    pool = _id_pools.setdefault(state.db.connection, {}).setdefault(model, [])
    if not pool:
        with cursor_for(state.db) as cursor:  # one synced read per ID_POOL_SIZE new rows
            cursor.execute(_ids_sql(model), (ID_POOL_SIZE,))
            pool.extend(row[0] for row in reversed(cursor.fetchall()))
    return pool.pop()


def row_changed(message: str) -> OnResult:
    """An `on_result` that fails as Django's save does when the statement changed no row."""

    def check(cursor) -> None:
        if not cursor.rowcount:
            raise DatabaseError(message)

    return check


@functools.lru_cache(maxsize=32)
def _ids_sql(model) -> str:
    table, column = model._meta.db_table, model._meta.pk.column
    return f"SELECT nextval(pg_get_serial_sequence('{table}', '{column}')) FROM generate_series(1, %s)"
