"""Sync of queues with Telnyx: webhooks can be missed, Telnyx's lists cannot."""
import logging

from celery import shared_task
from django.utils import timezone

from portal import gateway
from portal.sync import record_sync
from queues import services

log = logging.getLogger(__name__)
PAGE_SIZE = 250


def _calls_of(name: str) -> list[dict] | None:
    """Every page of a queue's calls; None if the queue vanished meanwhile (nothing to reconcile)."""
    try:
        return [c for page in gateway.pages("client.queues.calls.list", queue_name=name, page_size=PAGE_SIZE) for c in page]
    except gateway.GatewayError as error:
        if error.status_code == 404:
            return None
        raise


def fetch_and_sync() -> dict:
    """Read every page of Telnyx's queues and of each queue's calls; reconcile stays and queues."""
    started_at = timezone.now()
    counts = {"queues": 0, "created": 0, "updated": 0, "closed": 0, "queues_gone": 0}
    listed = set()
    for page in gateway.pages("client.queues.list", page_size=PAGE_SIZE):
        calls = {}
        for queue in page:
            if queue.get("name"):
                listed.add(queue["name"])
                found = _calls_of(queue["name"])
                if found is not None:
                    calls[queue["name"]] = found
        result = services.queue_sync_page(telnyx_queues=page, calls_by_queue=calls, started_at=started_at)
        for key in ("queues", "created", "updated", "closed"):
            counts[key] += result[key]
    counts["queues_gone"] = services.queues_sync_missing(listed_names=listed, started_at=started_at)
    return counts


@shared_task
def sync_queues() -> dict | None:
    """Sync now (on demand, or from the periodic beat entry)."""
    try:
        counts = fetch_and_sync()
    except gateway.GatewayError as error:
        log.warning("queue sync skipped: %s", error)
        record_sync("queues", "failed", error=error)
        return None
    record_sync("queues", "ok", **counts)
    return counts
