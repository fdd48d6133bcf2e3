"""Days loaded back from the events archive, held from retention while someone investigates (issue 32)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connections, transaction
from django.utils import timezone

from webhooks import archive, time_partitions
from webhooks.models import ArchiveHold, WebhookEvent

BATCH = 500


def held_ranges(*, now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """[start, end) of every UTC day whose hold has not expired."""
    now = now or timezone.now()
    return [archive.day_bounds(day) for day in ArchiveHold.objects.filter(until__gt=now).values_list("day", flat=True)]


def archive_load(*, day: date, keep_days: int, now: datetime | None = None) -> tuple[int, int]:
    """Insert an archived UTC day's events back with their ids and times; (loaded, already present).

    Retention leaves the day alone for `keep_days`; rows already in the table (same id) are skipped.
    """
    now = now or timezone.now()
    rows = list(archive.archived_rows(day))  # read and checked whole before anything is written
    start, _ = archive.day_bounds(day)
    if time_partitions.is_partitioned():
        time_partitions.ensure_partition(start)
    loaded = 0
    with transaction.atomic():
        ArchiveHold.objects.update_or_create(day=day, defaults={"until": now + timedelta(days=keep_days)})
        for offset in range(0, len(rows), BATCH):
            loaded += _insert([archive.to_event(row) for row in rows[offset:offset + BATCH]])
    return loaded, len(rows) - loaded


def _insert(events: list[WebhookEvent]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING with every column as archived (bulk_create would stamp received_at now)."""
    db = connections["default"]
    fields = WebhookEvent._meta.concrete_fields
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [f.get_db_prep_save(getattr(event, f.attname), db) for event in events for f in fields]
    sql = (f"INSERT INTO {quote(WebhookEvent._meta.db_table)} ({columns}) VALUES "
           f"{', '.join([row] * len(events))} ON CONFLICT DO NOTHING RETURNING 1")
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return len(cursor.fetchall())
