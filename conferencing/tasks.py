"""Periodic sync of conferences with Telnyx: webhooks can be missed, the list cannot."""
import logging

from celery import shared_task

from conferencing import services
from conferencing.models import Conference
from portal import gateway

log = logging.getLogger(__name__)


def fetch_and_sync() -> dict:
    """Read Telnyx's active conferences and participants through the gateway, then apply them."""
    active = []
    for status in ("init", "in_progress"):
        active.extend(gateway.iterate("client.conferences.list", filter={"status": status}))
    participants = {
        c["id"]: list(gateway.iterate("client.conferences.list_participants", conference_id=c["id"])) for c in active
    }
    listed = {c["id"] for c in active}
    closed = {}
    for conference_id in Conference.objects.exclude(status=Conference.Status.COMPLETED).exclude(
        conference_id__in=listed
    ).values_list("conference_id", flat=True):
        try:
            record = (gateway.call("client.conferences.retrieve", id=conference_id) or {}).get("data") or {}
        except gateway.GatewayError as error:
            if error.status_code != 404:
                raise
            record = {}
        if not record or record.get("status") == Conference.Status.COMPLETED:
            closed[conference_id] = record
    return services.conference_sync(telnyx_conferences=active, participants_by_conference=participants, closed=closed)


@shared_task
def sync_conferences() -> dict | None:
    try:
        return fetch_and_sync()
    except gateway.GatewayError as error:
        log.warning("conference sync skipped: %s", error)
        return None
