"""Thin tasks: capture one recording, catch up on the rest, apply the retention policy."""
from celery import shared_task

from recordings import capture, deletion, sync


@shared_task(bind=True, max_retries=None, acks_late=True)
def download_recording(self, recording_pk: int) -> str | None:
    """One download attempt; the service says whether and when another is due (fresh link each time)."""
    outcome = capture.recording_download(recording_pk=recording_pk)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.recording.status if outcome.recording else None


@shared_task(acks_late=True)
def download_recordings(recording_pks: list[int]) -> int:
    """A batch of first attempts, one after another; each one that is due again retries as its own task."""
    stored = 0
    for pk in recording_pks:
        outcome = capture.recording_download(recording_pk=pk)
        if outcome.retry_in is not None:
            capture.queue_download(pk, countdown=outcome.retry_in)
        elif outcome.recording is not None and outcome.recording.status == outcome.recording.Status.STORED:
            stored += 1
    return stored


@shared_task
def catch_up_recordings() -> dict:
    """Recent recordings and transcripts from Telnyx's lists, then every capture not done yet (recordings/sync.py)."""
    return sync.catch_up()


@shared_task
def apply_retention() -> int:
    """Delete recordings older than RECORDING_RETENTION_DAYS (nothing when it is 0)."""
    return deletion.recordings_apply_retention()
