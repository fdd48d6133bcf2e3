"""Recordings and transcriptions from Telnyx's lists: every page, one page at a time (manage.py sync_telnyx)."""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from portal import gateway
from recordings import services

PAGE_SIZE = 250


def sync_recordings(*, since=None) -> dict:
    """Every recording Telnyx lists (created since `since` if given); new ones are captured."""
    params = {"page_size": PAGE_SIZE}
    if since is not None:
        params["filter"] = {"created_at": {"gte": since.isoformat()}}
    counts = {"created": 0, "updated": 0}
    for page in gateway.pages("client.recordings.list", **params):
        for key, value in services.recordings_sync_page(telnyx_recordings=page).items():
            counts[key] += value
    return counts


def sync_transcriptions(*, since=None) -> dict:
    """Every recording transcription Telnyx lists, attached to its recording."""
    params = {"page_size": PAGE_SIZE}
    if since is not None:
        params["filter"] = {"created_at": {"gte": since.isoformat()}}
    counts = {"created": 0, "updated": 0}
    for page in gateway.pages("client.recording_transcriptions.list", **params):
        for key, value in services.transcriptions_sync_page(telnyx_transcriptions=page).items():
            counts[key] += value
    return counts


def sync_recent() -> dict:
    """What the periodic catch-up reads: the last RECORDING_CATCHUP_LOOKBACK_HOURS of both lists."""
    since = timezone.now() - timedelta(hours=settings.RECORDING_CATCHUP_LOOKBACK_HOURS)
    recordings = sync_recordings(since=since)
    transcriptions = sync_transcriptions(since=since)
    return {"recordings_created": recordings["created"], "transcriptions_created": transcriptions["created"]}


SYNCS = {"recordings": sync_recordings, "transcriptions": sync_transcriptions}
