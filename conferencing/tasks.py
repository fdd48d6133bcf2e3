"""Thin tasks of conferencing: the sync with Telnyx and the name lookup (both in conferencing/sync.py)."""
from celery import shared_task

from conferencing import sync
from portal.sync import run_sync


@shared_task
def fetch_conference_name(conference_id: str) -> str | None:
    """conference.created carries no name: read it from Telnyx (conferencing/sync.py)."""
    return sync.name_fill(conference_id)


@shared_task
def sync_conferences() -> dict | None:
    """Sync now (on demand, or from the periodic task): counts, or None when Telnyx could not be read."""
    return run_sync("conferences", sync.fetch_and_sync).counts


@shared_task
def sync_conferences_periodic() -> dict | None:
    """The beat entry: syncs when `sync.periodic_due()` says so."""
    return sync_conferences() if sync.periodic_due() else None
