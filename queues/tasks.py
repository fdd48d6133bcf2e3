"""Thin tasks of queues: the sync with Telnyx (queues/sync.py), a line renumbered again (queues/rows.py)."""
from celery import shared_task
from django.db import transaction

from portal.sync import run_sync
from queues import sync


@shared_task
def sync_queues() -> dict | None:
    """Sync now (on demand, or from the periodic beat entry): counts, or None when Telnyx could not be read."""
    return run_sync("queues", sync.fetch_and_sync).counts


@shared_task
def renumber_line(queue_pk: int, attempt: int) -> None:
    """Renumber a line whose last renumbering skipped stays another transaction held (queues/rows.line_renumber)."""
    from queues.live import publish_queue
    from queues.models import Queue
    from queues.rows import line_renumber

    with transaction.atomic():
        queue = Queue.objects.select_for_update(no_key=True).filter(pk=queue_pk).first()
        if queue is None:
            return
        line_renumber(queue, attempt=attempt)
        publish_queue(queue)
