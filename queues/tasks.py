"""Thin tasks of queues: the sync with Telnyx (queues/sync.py)."""
from celery import shared_task

from portal.sync import run_sync
from queues import sync


@shared_task
def sync_queues() -> dict | None:
    """Sync now (on demand, or from the periodic beat entry): counts, or None when Telnyx could not be read."""
    return run_sync("queues", sync.fetch_and_sync).counts
