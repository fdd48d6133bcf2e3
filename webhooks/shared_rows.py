"""Rows that several drain partitions write (a queue, a conference), written at the end of a batch (issue 25).

A queue's callers and a conference's participants are applied in different partitions
(webhooks/store.partition_of), so two drains reach the same queue and conference rows at once. Locked
from a batch's first event to its commit, those rows made the drains take turns: sampled, 93 % of
two drains' lock waits were on conference rows and the rest on queues, and two drains applied 1.07x
what one did. Now a service that changes such a row inside a batch says what it changes:

    write_later(row, change, then=None, once=None)

`change(obj)` sets fields on `obj` and returns the names it set (empty when there is nothing to do, for
instance when the row already holds newer news). It runs at once on the batch's own object, so later
events of the batch read what it set, and again at the end of the batch on the row read fresh and
locked (`flush`), where `then(obj)` runs the statements that go with it (the line renumbered, the
participants of a floor change); `once` names a `then` run once per row however many events asked (the
last one asked, or, if it has a `merge(earlier)` method, what that returns).
Rows are locked in one order (model, then id) and only from the end of a batch to its commit, so two
drains wait for each other a moment instead of a batch, and do not deadlock on these rows. FOR NO KEY
UPDATE: inserting a queue stay or a participant (a foreign key to the row) does not wait for it.
A `then` that writes rows of other partitions can still meet another batch holding one of them: a
line's renumbering skips such stays and comes back (queues/rows.line_renumber); a floor change or a
conference's end waits, and in the rare case that the holder then waits for this batch's
conference, PostgreSQL cancels one batch and its drain applies it again whole (webhooks/drain.py).
Command outcomes that change a stay lock it before its queue, in the same order (queues/services.py).

Outside a batch (a command's outcome, a test calling a service) the change and its statements are
written at once on the caller's object, which the caller has locked where that matters (a queue).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import models

from webhooks.prepared import save_fields, select_rows

Change = Callable[[models.Model], list[str] | None]
Then = Callable[[models.Model], object]


@dataclass
class _Writes:
    row: models.Model
    steps: list[tuple[Change | None, Then | None]] = field(default_factory=list)
    once: dict[str, Then] = field(default_factory=dict)


_batch: ContextVar[dict[tuple[str, int], _Writes] | None] = ContextVar("webhook_shared_rows", default=None)


@contextlib.contextmanager
def batch_writes():
    """Collect the shared rows' writes of one batch; `flush()` writes them (inside the batch's transaction)."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def in_batch() -> bool:
    """Whether writes to shared rows are being collected for the end of a batch."""
    return _batch.get() is not None


def write_later(row: models.Model, change: Change | None = None, then: Then | None = None, *, once: str | None = None) -> list[str]:
    """Change `row` now for the batch and on the locked row at the end of it (outside a batch: `row`, at once); the fields set now."""
    steps, thens = ([(change, None)], {once: then}) if once and then else ([(change, then)], {})
    pending = _batch.get()
    if pending is None:
        return _apply(row, steps, thens)
    changed = list(change(row) or []) if change else []
    if change is not None and not changed and then is None:
        return []  # the batch's object already holds newer news: so does the row
    writes = pending.setdefault((row._meta.label, row.pk), _Writes(row))
    writes.steps.extend(step for step in steps if step != (None, None))
    for name, then in thens.items():  # a `then` with merge() folds in the one asked before (a line renumbered from the earliest change)
        earlier = writes.once.get(name)
        writes.once[name] = then.merge(earlier) if earlier is not None and hasattr(then, "merge") else then
    return changed


def flush() -> None:
    """Write the batch's shared rows: each kind locked in one statement in id order, then each row changed,
    saved and its statements run."""
    pending = _batch.get()
    if not pending:
        return
    ordered = [pending[key] for key in sorted(pending)]
    pending.clear()
    for label in dict.fromkeys(writes.row._meta.label for writes in ordered):
        kind = [writes for writes in ordered if writes.row._meta.label == label]
        model = type(kind[0].row)
        locked = select_rows(model, model._meta.pk.name, [w.row.pk for w in kind], lock=True, no_key=True)  # no ORM compile per batch
        fresh = {row.pk: row for row in locked}
        for writes in kind:
            if writes.row.pk in fresh:  # else deleted meanwhile: nothing left to change
                _write(writes.row, fresh[writes.row.pk], writes.steps, writes.once)


def discard() -> None:
    """Forget what the batch recorded: the event that recorded it was rolled back (its savepoint)."""
    pending = _batch.get()
    if pending:
        pending.clear()


def _write(row: models.Model, fresh: models.Model, steps, once: dict[str, Then]) -> None:
    """Apply `steps` to the locked `fresh` copy of `row`; `row`, the batch's object, then holds what the row holds."""
    for name in _apply(fresh, steps, once):
        attname = fresh._meta.get_field(name).attname
        setattr(row, attname, getattr(fresh, attname))


def _apply(row: models.Model, steps, once: dict[str, Then]) -> list[str]:
    """Apply `steps` to `row`, save the fields they set, run their statements; the fields set."""
    fields: dict[str, None] = {}
    thens = []
    for change, then in steps:
        changed = change(row) if change else None
        fields.update(dict.fromkeys(changed or ()))
        if then is not None and (change is None or changed):
            thens.append(then)
    if fields:
        save_fields(row, fields)
    for then in [*thens, *once.values()]:
        then(row)
    return list(fields)
