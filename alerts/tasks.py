"""Thin tasks: evaluate the rules (beat, and soon after queue events); send one delivery attempt."""
from celery import shared_task

from alerts import delivery, evaluation, services


@shared_task(ignore_result=True)
def evaluate_alerts() -> dict:
    """Evaluate every enabled rule now (beat runs this every ALERTS_EVALUATE_SECONDS); queue lost deliveries again."""
    counts = evaluation.evaluate().counts()
    counts["requeued"] = services.deliveries_requeue_unsent()
    return counts


@shared_task(bind=True, max_retries=None, acks_late=True, ignore_result=True)
def deliver_alert(self, delivery_pk: int) -> None:
    """One attempt; the service decides whether and when another is due (capped by ALERTS_DELIVERY_MAX_ATTEMPTS)."""
    retry_in = delivery.delivery_attempt(delivery_pk=delivery_pk)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
