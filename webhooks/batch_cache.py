"""Rows a batch's handlers share, loaded once per batch (issue 25): a scope set around a batch, read by the apps.

An app's BATCH_PRELOADS (handlers module) fill the scope in one query each before any handler runs;
its services look a row up here first and query only on a miss. Objects found here are the ones
later events of the batch change, so each event sees what the previous ones wrote. Outside a batch
(commands, the sync, the admin) there is no scope and every lookup queries as before.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

from django.db import connection

from webhooks.prepared import insert_row, insert_unless_present, select_rows

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


def preload(kind: str, model, field: str, keys: set[str], *, lock: bool = True) -> None:
    """Rows of `model` whose `field` is one of `keys`, in one query (webhooks/prepared.select_rows), cached by that field.

    Inside a transaction they are locked in id order (a write from another process waits for the
    batch instead of being overwritten by its saves), unless `lock` is off: rows that several
    partitions share are written at the end of the batch instead (webhooks/shared_rows.py). A key
    not found is cached as None: not there when the batch began.
    """
    cache = rows(kind)
    if cache is None or not keys:
        return
    found = select_rows(model, field, sorted(keys), lock=lock and connection.in_atomic_block)
    cache.update(dict.fromkeys(keys))
    cache.update((getattr(row, field), row) for row in found)


def cached(kind: str, key: str):
    """The batch's object for `key`, if the batch loaded or created it; else None."""
    cache = rows(kind)
    return cache.get(key) if cache else None


def known_absent(kind: str, key) -> bool:
    """True if the batch looked for `key` and it was not there (nor created since): no query needed."""
    cache = rows(kind)
    return bool(cache) and key in cache and cache[key] is None


def get_or_insert(kind: str, key, model, lookup: dict, defaults: dict | None = None, *, shared: bool = False) -> tuple:
    """get_or_create of a row the batch may have loaded (cached under `key`): the batch's object if it has
    one; where the batch found none, an INSERT without get_or_create's SELECT and savepoint (if another
    process inserted the row since, the INSERT fails and the drain applies the batch again event by
    event, where get_or_create finds it); outside a batch, get_or_create. Later events get the same object.

    A `shared` row is one other drains may insert at the same time (its one lookup field is unique):
    it is inserted unless present, in one statement, and loaded if another drain was first.
    """
    found = cached(kind, key)
    if found is not None:
        return found, False
    if known_absent(kind, key) and shared:
        (unique,) = lookup  # one unique field names a shared row
        row = model(**lookup, **(defaults or {}))
        created = insert_unless_present(row, unique)
        if not created:
            row = model._default_manager.get(**lookup)
    elif known_absent(kind, key):
        row, created = model(**lookup, **(defaults or {})), True
        insert_row(row)
    else:
        row, created = model._default_manager.get_or_create(**lookup, defaults=defaults)
    remember(kind, key, row)
    return row, created


def remember(kind: str, key: str, row) -> None:
    """Later events of the batch use this object (no-op outside a batch)."""
    cache = rows(kind)
    if cache is not None:
        cache[key] = row


# Sets of keys: which of the keys a batch asked about are there (legs on a roster, calls in a queue).
ASKED, PRESENT = "asked", "present"


def note_present(kind: str, asked: set[str], present) -> None:
    """Of the keys `asked` about, those in `present` are there (a query's answer, evaluated here)."""
    cache = rows(kind)
    if cache is not None and asked:
        cache[ASKED], cache[PRESENT] = asked, set(present)


def mark_present(kind: str, key: str) -> None:
    """`key` became present during the batch: later questions about it query again."""
    cache = rows(kind)
    if cache and PRESENT in cache:
        cache[PRESENT].add(key)


def surely_absent(kind: str, key: str) -> bool:
    """True if the batch asked about `key` and it was not there (nor became so): no query needed."""
    cache = rows(kind)
    return bool(cache) and key in cache.get(ASKED, ()) and key not in cache[PRESENT]
