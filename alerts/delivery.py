"""The delivery service: one attempt of one message, its outcome logged; the task retries with backoff."""
from __future__ import annotations

import logging
import random

from django.conf import settings
from django.utils import timezone

from alerts import metrics, sending
from alerts.models import AlertChannel, AlertDelivery
from portal.sealing import SealBroken, unseal

log = logging.getLogger("alerts.delivery")


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter (2, 4, 8 ... s), capped by ALERTS_DELIVERY_MAX_RETRY_SECONDS."""
    base = min(settings.ALERTS_DELIVERY_MAX_RETRY_SECONDS, 2.0 ** attempts)
    return round(base * random.uniform(0.8, 1.2), 2)  # noqa: S311 - jitter, not security


def delivery_attempt(*, delivery_pk: int) -> float | None:
    """Send once; returns seconds until the next attempt, or None when the delivery is settled (sent or failed)."""
    delivery = (AlertDelivery.objects.select_related("alert", "alert__acknowledged_by", "channel")
                .filter(pk=delivery_pk, status=AlertDelivery.Status.PENDING).first())
    if delivery is None:
        return None
    delivery.attempts += 1
    channel = delivery.channel
    try:
        content = sending.message(delivery)
        if channel.kind == AlertChannel.Kind.WEBHOOK:
            try:
                secret = unseal(channel.sealed_secret).get("secret", "")
            except SealBroken:
                raise sending.SendFailed("the channel's secret cannot be decrypted with SEALED_PARAMS_KEYS", retry=False) from None
            delivery.response_status = sending.send_webhook(channel, secret, content)
        else:
            sending.send_email(channel, content)
    except sending.SendFailed as failure:
        delivery.last_error, delivery.response_status = str(failure), failure.status
        if failure.retry and delivery.attempts < settings.ALERTS_DELIVERY_MAX_ATTEMPTS:
            delivery.save(update_fields=["attempts", "last_error", "response_status"])
            metrics.delivery_outcome(channel.kind, "retrying")
            return retry_delay(delivery.attempts)
        delivery.status, delivery.finished_at = AlertDelivery.Status.FAILED, timezone.now()
        log.warning("alert delivery #%s to %s failed after %s attempt(s): %s", delivery.pk, channel.name,
                    delivery.attempts, failure)
    else:
        delivery.status, delivery.finished_at, delivery.last_error = AlertDelivery.Status.SENT, timezone.now(), ""
    delivery.save(update_fields=["attempts", "last_error", "response_status", "status", "finished_at"])
    metrics.delivery_outcome(channel.kind, delivery.status)
    return None
