"""Capturing a recording's audio into storage: queued, fetched (fresh links when needed), stored, retried."""
from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portal import gateway
from recordings import download
from recordings.access import ensure_can_listen
from recordings.live import publish_recording
from recordings.models import Recording
from recordings.naming import adopt
from recordings.storage import recording_storage
from webhooks.payloads import when

log = logging.getLogger(__name__)

# Telnyx's links live 10 minutes; past this age the portal asks for fresh ones before trying.
LINK_TTL = timedelta(minutes=9)
# A download claimed longer ago than this is taken to have died with its worker.
STUCK_AFTER = timedelta(minutes=15)
# A recording that exhausted its attempts gets a new series this long after its last one.
RETRY_FAILED_AFTER = timedelta(hours=1)


@dataclass
class DownloadOutcome:
    """What one download attempt led to, and the delay before the next attempt if one is due."""

    recording: Recording | None
    retry_in: float | None = None


def queue_download_on_commit(recording_pk: int) -> None:
    if settings.RECORDING_CAPTURE:
        transaction.on_commit(lambda: queue_download(recording_pk))


def queue_download(recording_pk: int, countdown: float | None = None) -> None:
    """Hand a download to a worker; if the broker is down the periodic catch-up finds it later."""
    from recordings.tasks import download_recording  # tasks import this module: imported when first used

    try:
        download_recording.apply_async((recording_pk,), countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure; the row stays saved and is caught up
        log.warning("could not queue the download of recording %s", recording_pk, exc_info=True)


# Captures queued together (a sync page, the catch-up) leave as one task per this many recordings:
# one message per recording made a 100,000-recording sync spend most of its time publishing (issue 13).
DOWNLOAD_BATCH = 50


def queue_downloads_on_commit(recording_pks: list[int]) -> None:
    """After commit, hand many captures to workers, DOWNLOAD_BATCH recordings per task."""
    if settings.RECORDING_CAPTURE and recording_pks:
        transaction.on_commit(lambda: queue_downloads(recording_pks))


def queue_downloads(recording_pks: list[int]) -> None:
    """Hand many captures to workers in batches; each recording still retries on its own."""
    from recordings.tasks import download_recordings  # tasks import this module: imported when first used

    for start in range(0, len(recording_pks), DOWNLOAD_BATCH):
        chunk = list(recording_pks[start:start + DOWNLOAD_BATCH])
        try:
            download_recordings.apply_async((chunk,))
        except Exception:  # noqa: BLE001 - any broker failure; the rows stay saved and are caught up
            log.warning("could not queue the download of %s recordings", len(chunk), exc_info=True)


def download_backoff(attempts: int) -> float:
    """15 s, 30 s, 1 min... up to 15 min, with jitter (Telnyx's file servers are rarely down for long)."""
    base = min(900.0, 15.0 * 2 ** max(0, attempts - 1))
    return base + random.uniform(0, base / 4)


def recording_download(*, recording_pk: int) -> DownloadOutcome:
    """One attempt to capture a recording's audio into storage; records size, SHA-256 and any error."""
    now = timezone.now()
    claimable = Q(status__in=[Recording.Status.SAVED, Recording.Status.FAILED], telnyx_error="") | Q(
        status=Recording.Status.DOWNLOADING, last_attempt_at__lt=now - STUCK_AFTER
    )
    claimed = Recording.objects.filter(claimable, pk=recording_pk).update(
        status=Recording.Status.DOWNLOADING, download_attempts=F("download_attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return DownloadOutcome(None)  # stored, deleted, or another worker holds it
    recording = Recording.objects.get(pk=recording_pk)
    publish_recording(recording)
    fetched = None
    try:
        if recording.provisional_id:
            recording = _resolve_provisional(recording)
            if recording is None:
                return DownloadOutcome(None)
        fetched = _fetch(recording)
        return DownloadOutcome(_store(recording, fetched))
    except (download.DownloadError, gateway.GatewayError) as error:
        return _download_failed(recording, str(error))
    except Exception as error:  # noqa: BLE001 - never leave a row downloading because of a surprise
        log.exception("download of recording %s failed unexpectedly", recording.pk)
        return _download_failed(recording, f"Unexpected error: {error.__class__.__name__}: {error}")
    finally:
        if fetched is not None:
            fetched.file.close()


def _fetch(recording: Recording) -> download.Fetched:
    """The webhook's link while it is fresh and nothing failed yet; else (or if refused) a fresh one from the API."""
    fresh = recording.urls_received_at and timezone.now() - recording.urls_received_at < LINK_TTL
    if fresh and recording.download_attempts <= 1:
        fmt, url = download.pick_link(recording.recording_urls, recording.format)
        if url:
            try:
                return download.fetch(url, fmt)
            except download.DownloadError as error:
                if not error.link_expired:
                    raise
    fmt, url = _fresh_link(recording)
    return download.fetch(url, fmt)


def _fresh_link(recording: Recording) -> tuple[str, str]:
    """Ask Telnyx's recordings API for new download links (they too expire) and keep them on the row."""
    if recording.provisional_id:
        raise download.DownloadError("Telnyx has not listed this recording yet, so no fresh link can be asked for.")
    data = (gateway.call("client.recordings.retrieve", recording_id=recording.recording_id) or {}).get("data") or {}
    urls = data.get("download_urls") or {}
    fmt, url = download.pick_link(urls, recording.format)
    if not url:
        raise download.DownloadError("Telnyx's recordings API gave no download link for this recording.")
    Recording.objects.filter(pk=recording.pk).update(recording_urls=urls, urls_received_at=timezone.now())
    recording.recording_urls = urls
    return fmt, url


def _resolve_provisional(recording: Recording) -> Recording | None:
    """Find Telnyx's id for a call recording announced without one: same call, same start time."""
    filters = {}
    for name in ("call_session_id", "call_leg_id", "call_control_id"):
        if getattr(recording, name):
            filters = {name: getattr(recording, name)}
            break
    if not filters:
        return recording
    try:
        candidates = [c for c in gateway.iterate("client.recordings.list", filter=filters, page_size=50) if c.get("id")]
    except gateway.GatewayError as error:
        # Naming can wait for the next sync; the audio cannot wait past its link's 10 minutes.
        log.warning("could not name recording %s through Telnyx's list: %s", recording.pk, error)
        return recording
    match = None
    for candidate in candidates:
        started = when(candidate.get("recording_started_at"))
        if recording.started_at and started and abs((started - recording.started_at).total_seconds()) <= 2:
            match = candidate
            break
    if match is None and len(candidates) == 1:
        match = candidates[0]
    if match is None:
        return recording  # keep the webhook's link; a later sync may name it
    return adopt(recording, match, downloading=True)


def _file_name(recording: Recording, fmt: str) -> str:
    day = (recording.recorded_at or timezone.now()).strftime("%Y/%m/%d")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", recording.recording_id)[:150]
    return f"{day}/{safe}.{fmt or 'audio'}"


def _store(recording: Recording, fetched: download.Fetched) -> Recording:
    fmt = {"audio/mpeg": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav"}.get(
        fetched.content_type, recording.format or "audio"
    )
    name = recording_storage.save(_file_name(recording, fmt), File(fetched.file))
    kept = recording_storage.size(name)
    if kept != fetched.size:
        # A storage that wrote part of the file without raising: never point the row at a short copy.
        recording_storage.delete(name)
        raise download.DownloadError(f"Storage kept {kept} of {fetched.size} bytes; the copy was discarded.")
    old = recording.file.name if recording.file else ""
    with transaction.atomic():
        updated = Recording.objects.filter(pk=recording.pk, status=Recording.Status.DOWNLOADING).update(
            file=name, size_bytes=fetched.size, sha256=fetched.sha256, content_type=fetched.content_type,
            status=Recording.Status.STORED, stored_at=timezone.now(), last_error="",
        )
    if not updated:
        recording_storage.delete(name)  # deleted (or taken over) while downloading: keep nothing
        return Recording.objects.filter(pk=recording.pk).first()
    if old and old != name:
        recording_storage.delete(old)
    recording.refresh_from_db()
    publish_recording(recording)
    return recording


def _download_failed(recording: Recording, message: str) -> DownloadOutcome:
    Recording.objects.filter(pk=recording.pk, status=Recording.Status.DOWNLOADING).update(
        status=Recording.Status.FAILED, last_error=message[:4000]
    )
    recording.refresh_from_db()
    publish_recording(recording)
    if recording.status != Recording.Status.FAILED or recording.download_attempts >= settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS:
        return DownloadOutcome(recording)
    return DownloadOutcome(recording, download_backoff(recording.download_attempts))


def recordings_redownload(*, queryset, user) -> int:
    """Capture the selected recordings again (stored ones are replaced by a fresh copy); returns how many."""
    ensure_can_listen(user)
    count = 0
    for recording in queryset.exclude(status__in=[Recording.Status.DELETED, Recording.Status.DOWNLOADING]).filter(telnyx_error=""):
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.SAVED, download_attempts=0, last_error="")
        recording.status = Recording.Status.SAVED
        transaction.on_commit(lambda pk=recording.pk: queue_download(pk))
        publish_recording(recording)
        count += 1
    return count


def recordings_catch_up() -> int:
    """Queue a download for every recording not stored yet (never queued, stuck, or failed an hour ago)."""
    if not settings.RECORDING_CAPTURE:
        return 0
    now = timezone.now()
    due = Recording.objects.filter(telnyx_error="").filter(
        Q(status=Recording.Status.SAVED, saved_at__lt=now - timedelta(minutes=1))
        | Q(status=Recording.Status.DOWNLOADING, last_attempt_at__lt=now - STUCK_AFTER)
        | Q(status=Recording.Status.FAILED, download_attempts__gte=settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS,
            last_attempt_at__lt=now - RETRY_FAILED_AFTER)
    )
    pks = list(due.values_list("pk", flat=True)[:500])
    # A new series of attempts for those that ran out, so the task's backoff starts over.
    Recording.objects.filter(pk__in=pks, status=Recording.Status.FAILED).update(download_attempts=0)
    queue_downloads(pks)
    return len(pks)
