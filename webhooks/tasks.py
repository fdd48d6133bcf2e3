"""Thin tasks: apply one event, sweep lost ones."""
from celery import shared_task
from django.conf import settings

from webhooks import services
from webhooks.models import WebhookEvent


@shared_task(bind=True, max_retries=None, acks_late=True)
def process_event(self, event_pk: int) -> str:
    """Apply one stored event; a failure retries with backoff up to WEBHOOK_MAX_ATTEMPTS."""
    event = services.event_process(event_pk=event_pk)
    if event.status == WebhookEvent.Status.FAILED and event.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        raise self.retry(countdown=min(300, 2 ** event.attempts))
    return event.status


@shared_task
def sweep_unprocessed_events() -> int:
    """Queue events left pending longer than WEBHOOK_SWEEP_AFTER_SECONDS."""
    return services.events_sweep(older_than_seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
