"""The one rule for applying events out of order: older news never overwrites newer state."""
from __future__ import annotations

from datetime import datetime

from django.db import models

from webhooks.prepared import save_fields


def is_stale(instance: models.Model, occurred_at: datetime | None, field: str = "last_event_at") -> bool:
    """True if `instance` already reflects an event newer than `occurred_at`."""
    applied = getattr(instance, field)
    return bool(applied and occurred_at and occurred_at < applied)


def set_if_newer(instance: models.Model, occurred_at: datetime | None, changes: dict, field: str = "last_event_at") -> list[str]:
    """Set `changes` and the ordering stamp on `instance` unless it holds newer state; the fields set (not saved)."""
    if is_stale(instance, occurred_at, field):
        return []
    for name, value in changes.items():
        setattr(instance, name, value)
    if occurred_at and (getattr(instance, field) is None or occurred_at >= getattr(instance, field)):
        setattr(instance, field, occurred_at)
    return list(dict.fromkeys([*changes, field]))


def apply_if_newer(
    instance: models.Model, occurred_at: datetime | None, changes: dict, field: str = "last_event_at",
    unsaved: list[str] = (),
) -> bool:
    """Set `changes` and the ordering stamp unless the instance holds newer state; save; say if applied.

    `unsaved`: fields the caller already set on `instance`, saved in the same statement (or alone if stale).
    """
    fields = set_if_newer(instance, occurred_at, changes, field)
    if not fields:
        if unsaved and instance.pk:
            save_fields(instance, unsaved)
        return False
    if instance.pk:
        save_fields(instance, [*unsaved, *fields])
    else:
        instance.save()
    return True
