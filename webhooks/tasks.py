"""Thin tasks: drain pending events in batches, retry one failed event, sweep lost ones, keep the table's size."""
import dataclasses

from celery import shared_task
from django.conf import settings

from webhooks import time_partitions
from webhooks.apply import event_process
from webhooks.drain import events_drain
from webhooks.models import WebhookEvent
from webhooks.retention import events_purge
from webhooks.retries import events_sweep


@shared_task(acks_late=True)
def process_pending() -> int:
    """Apply every pending event in batches (queued by the intake at most once per drain).

    Run inline (CELERY_TASK_ALWAYS_EAGER, as in the tests) it never stands by: it runs inside the
    delivery's request there.
    """
    return events_drain(standby=not process_pending.app.conf.task_always_eager)


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


# Retention runs on the `celery` queue (CELERY_TASK_ROUTES), never beside the drains on `events` (issue 32).
@shared_task
def purge_old_events() -> dict:
    """Stored webhooks older than EVENT_RETENTION_DAYS (archived first), never pending or failed ones."""
    return dataclasses.asdict(events_purge())


@shared_task
def create_event_partitions() -> list[str]:
    """PostgreSQL: the events table's partitions for now and EVENT_PARTITIONS_AHEAD spans ahead."""
    return time_partitions.ensure_ahead()
