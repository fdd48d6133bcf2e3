"""Sync of conferences with Telnyx: webhooks can be missed, Telnyx's list cannot."""
from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from conferencing import services
from conferencing.models import Conference
from portal import gateway

LAST_SYNC_KEY = "conferencing:last-sync"
PAGE_SIZE = 250
ACTIVE = (Conference.Status.INIT, Conference.Status.IN_PROGRESS)


def fetch_and_sync(*, everything: bool = False) -> dict:
    """Read every page of Telnyx's conferences with their participants and reconcile local state.

    The periodic sync lists active conferences only; `everything` (sync_telnyx) lists all statuses,
    so a first install back-fills history and completed conferences are closed with their end reason.
    """
    counts = {"created": 0, "updated": 0, "closed": 0}
    listed = set()
    filters = [None] if everything else [{"status": status} for status in ACTIVE]
    for status_filter in filters:
        extra = {"filter": status_filter} if status_filter else {}
        for page in gateway.pages("client.conferences.list", page_size=PAGE_SIZE, **extra):
            fetched_at = timezone.now()  # before the rosters: a join applied after it may be missing from them
            participants = {
                c["id"]: [p for chunk in gateway.pages("client.conferences.list_participants", conference_id=c["id"],
                                                        page_size=PAGE_SIZE) for p in chunk]
                for c in page
            }
            result = services.conference_sync_page(
                telnyx_conferences=page, participants_by_conference=participants, fetched_at=fetched_at
            )
            counts["created"] += result["created"]
            counts["updated"] += result["updated"]
            listed.update(c["id"] for c in page)
    stale = Conference.objects.exclude(status=Conference.Status.COMPLETED).exclude(conference_id__in=listed)
    for conference_id in stale.values_list("conference_id", flat=True):
        try:
            record = (gateway.call("client.conferences.retrieve", id=conference_id) or {}).get("data") or {}
        except gateway.GatewayError as error:
            if error.status_code != 404:
                raise
            record = {}
        if record.get("status") in ACTIVE:
            continue  # listed a moment later than our page: leave it for the next sync
        services.conference_ended(
            conference_id=conference_id, occurred_at=timezone.now(),
            reason=record.get("end_reason") or ("not found at sync" if not record else ""),
        )
        counts["closed"] += 1
    cache.set(LAST_SYNC_KEY, timezone.now().timestamp(), timeout=None)
    return counts


def periodic_due() -> bool:
    """The periodic sync runs every minute while any conference is active, else every CONFERENCE_IDLE_SYNC_SECONDS."""
    last = cache.get(LAST_SYNC_KEY) or 0
    idle_due = timezone.now().timestamp() - last >= settings.CONFERENCE_IDLE_SYNC_SECONDS
    return idle_due or Conference.objects.exclude(status=Conference.Status.COMPLETED).exists()


def sync_everything() -> dict:
    """Full reconciliation for `manage.py sync_telnyx`: every conference Telnyx lists, every page."""
    return fetch_and_sync(everything=True)


SYNCS = {"conferences": sync_everything}

# When beat starts: conferences held active that Telnyx no longer lists are closed (issue 29).
START_SYNCS = {"conferences": fetch_and_sync}
