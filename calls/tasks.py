"""Thin tasks of the calls app: the periodic check of legs held active (calls/sync.py)."""
import logging

from celery import shared_task

from calls import sync
from portal import gateway
from portal.sync import record_sync

log = logging.getLogger(__name__)


@shared_task
def sync_calls() -> dict | None:
    """Check quiet active legs against Telnyx's call status (the beat entry, every CALL_SYNC_SECONDS)."""
    try:
        counts = sync.sync_periodic()
    except gateway.GatewayError as error:
        log.warning("call sync skipped: %s", error)
        record_sync("calls", "failed", error=error)
        return None
    record_sync("calls", "ok", **counts)
    return counts
