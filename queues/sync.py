"""Sync of queues with Telnyx: webhooks can be missed, Telnyx's lists cannot."""
from django.utils import timezone

from portal import gateway
from queues import services

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


SYNCS = {"queues": fetch_and_sync}

# When beat starts: stays Telnyx no longer lists are closed, vanished queues marked deleted (issue 29).
START_SYNCS = {"queues": fetch_and_sync}
