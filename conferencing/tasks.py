"""Thin tasks of conferencing: the sync with Telnyx (conferencing/sync.py) and the name lookup."""
import logging

from celery import shared_task

from conferencing import services, sync
from portal import gateway
from portal.sync import run_sync

log = logging.getLogger(__name__)


@shared_task
def fetch_conference_name(conference_id: str) -> str | None:
    """conference.created carries no name: read the conference from Telnyx and fill it in."""
    try:
        record = (gateway.call("client.conferences.retrieve", id=conference_id) or {}).get("data") or {}
    except gateway.GatewayError as error:
        # One attempt: the periodic sync lists names too, and delayed retries of a cosmetic lookup would
        # hold worker slots that event drains need while Telnyx is unreachable.
        log.warning("conference %s: name lookup failed: %s", conference_id, error)
        return None
    conference = services.conference_name_fill(
        conference_id=conference_id, name=record.get("name") or "", region=record.get("region") or ""
    )
    return conference.name if conference else None


@shared_task
def sync_conferences() -> dict | None:
    """Sync now (on demand, or from the periodic task): counts, or None when Telnyx could not be read."""
    return run_sync("conferences", sync.fetch_and_sync).counts


@shared_task
def sync_conferences_periodic() -> dict | None:
    """The beat entry: syncs when `sync.periodic_due()` says so."""
    return sync_conferences() if sync.periodic_due() else None
