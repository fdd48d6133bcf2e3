"""Thin tasks: drain pending events in batches, retry one failed event, sweep lost ones."""
from celery import shared_task
from django.conf import settings

from webhooks.apply import event_process
from webhooks.drain import events_drain
from webhooks.models import WebhookEvent
from webhooks.retries import events_sweep


@shared_task(acks_late=True)
def process_pending() -> int:
    """Apply every pending event in batches (queued by the intake at most once per drain)."""
    return events_drain()


@shared_task(bind=True, max_retries=None, acks_late=True)
def process_event(self, event_pk: int) -> str:
    """Apply one stored event again; a failure retries with backoff up to WEBHOOK_MAX_ATTEMPTS."""
    event = event_process(event_pk=event_pk)
    if event is None:
        return "locked"
    if event.status == WebhookEvent.Status.FAILED and event.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        raise self.retry(countdown=min(300, 2 ** event.attempts))
    return event.status


@shared_task
def sweep_unprocessed_events() -> int:
    """Drain events left pending longer than WEBHOOK_SWEEP_AFTER_SECONDS (a lost nudge loses nothing)."""
    return events_sweep(older_than_seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
