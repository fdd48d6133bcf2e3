"""Thin tasks: capture one recording, catch up on the rest, apply the retention policy."""
import logging

from celery import shared_task

from portal import gateway
from portal.sync import record_sync
from recordings import services

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None, acks_late=True)
def download_recording(self, recording_pk: int) -> str | None:
    """One download attempt; the service says whether and when another is due (fresh link each time)."""
    outcome = services.recording_download(recording_pk=recording_pk)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.recording.status if outcome.recording else None


@shared_task(acks_late=True)
def download_recordings(recording_pks: list[int]) -> int:
    """A batch of first attempts, one after another; each one that is due again retries as its own task."""
    stored = 0
    for pk in recording_pks:
        outcome = services.recording_download(recording_pk=pk)
        if outcome.retry_in is not None:
            services.queue_download(pk, countdown=outcome.retry_in)
        elif outcome.recording is not None and outcome.recording.status == outcome.recording.Status.STORED:
            stored += 1
    return stored


@shared_task
def catch_up_recordings() -> dict:
    """Recent recordings and transcripts from Telnyx's lists, then every capture not done yet."""
    from recordings.sync import sync_recent

    counts = {}
    try:
        counts.update(sync_recent())
    except gateway.GatewayError as error:
        log.warning("recordings catch-up could not list Telnyx's recordings: %s", error)
        for name in ("recordings", "transcriptions"):
            record_sync(name, "failed", error=error)
    else:
        for name in ("recordings", "transcriptions"):
            record_sync(name, "ok", **counts)
    counts["gone"] = services.recordings_reconcile_gone()
    counts["queued"] = services.recordings_catch_up()
    return counts


@shared_task
def apply_retention() -> int:
    """Delete recordings older than RECORDING_RETENTION_DAYS (nothing when it is 0)."""
    return services.recordings_apply_retention()
