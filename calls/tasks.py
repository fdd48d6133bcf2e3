"""Thin tasks of the calls app: the periodic check of legs held active (calls/sync.py)."""
from celery import shared_task

from calls import sync
from portal.sync import run_sync


@shared_task
def sync_calls() -> dict | None:
    """Check quiet active legs against Telnyx's call status (the beat entry, every CALL_SYNC_SECONDS)."""
    return run_sync("calls", sync.sync_periodic).counts
