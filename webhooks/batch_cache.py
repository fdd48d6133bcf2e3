"""Rows a batch's handlers share, loaded once per batch (issue 25): a scope set around a batch, read by the apps.

An app's BATCH_PRELOADS (handlers module) fill the scope in one query each before any handler runs;
its services look a row up here first and query only on a miss. Objects found here are the ones
later events of the batch change, so each event sees what the previous ones wrote. Outside a batch
(commands, the sync, the admin) there is no scope and every lookup queries as before.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

_scope: ContextVar[dict[str, dict] | None] = ContextVar("webhook_batch_cache", default=None)


@contextlib.contextmanager
def batch_scope():
    """Rows cached from here to the end of the block (one batch, in its transaction)."""
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def rows(kind: str) -> dict | None:
    """The batch's rows of one kind, by key (an app's own choice); None outside a batch."""
    scope = _scope.get()
    return None if scope is None else scope.setdefault(kind, {})


def forget() -> None:
    """Drop everything cached: an event's savepoint rolled back, so objects may hold what it undid."""
    scope = _scope.get()
    if scope is not None:
        scope.clear()
