"""Every write to webhook events: store on arrival, process by handlers, re-queue."""
from __future__ import annotations

import json
import logging
import traceback
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import live
from webhooks import registry
from webhooks.models import WebhookEvent

log = logging.getLogger(__name__)
RETRYABLE_STATUSES = (WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED)


def _occurred_at(data: dict) -> datetime | None:
    value = data.get("occurred_at") or (data.get("payload") or {}).get("occurred_at")
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.utc)
    return parsed


def _text(value) -> str:
    return value[:255] if isinstance(value, str) else ""


def _resource_keys(payload: dict) -> dict:
    queue = payload.get("queue") or payload.get("queue_name")
    return {
        "call_control_id": _text(payload.get("call_control_id")),
        "call_session_id": _text(payload.get("call_session_id")),
        "conference_id": _text(payload.get("conference_id")),
        "queue_name": _text(queue),
        "recording_id": _text(payload.get("recording_id")),
    }


def queue_processing(event_pk: int) -> None:
    """Hand an event to a worker; if the broker is down the sweeper will find it later."""
    from webhooks.tasks import process_event

    try:
        process_event.delay(event_pk)
    except Exception:  # noqa: BLE001 - any broker failure; the event is stored and will be swept
        log.warning("could not queue webhook event %s; the sweeper will pick it up", event_pk, exc_info=True)


def event_store(*, data: dict, raw_body: bytes) -> tuple[WebhookEvent, bool]:
    """Insert a verified event once (unique on Telnyx's id) and queue it after commit.

    A redelivery of an event that is still pending or failed is queued again: dedupe the insert,
    not the processing (dj-stripe once dropped such retries).
    """
    payload = data.get("payload") or {}
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                event_id=data["id"],
                event_type=data["event_type"],
                occurred_at=_occurred_at(data),
                raw_body=raw_body.decode("utf-8"),
                payload=payload,
                **_resource_keys(payload),
            )
    except IntegrityError:
        event = WebhookEvent.objects.get(event_id=data["id"])
        if event.status in RETRYABLE_STATUSES:
            transaction.on_commit(lambda: queue_processing(event.pk))
        return event, False
    transaction.on_commit(lambda: queue_processing(event.pk))
    _publish(event, new=True)
    return event, True


def event_process(*, event_pk: int) -> WebhookEvent:
    """Run the event's handlers in one transaction; record success, ignore or the failure's traceback."""
    event = WebhookEvent.objects.get(pk=event_pk)
    handlers = registry.handlers_for(event.event_type)
    if not handlers:
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.IGNORED, processed_at=timezone.now())
        event.refresh_from_db()
        _publish(event)
        return event
    try:
        with transaction.atomic():
            for handler in handlers:
                handler(event)
            event.status = WebhookEvent.Status.PROCESSED
            event.attempts += 1
            event.last_error = ""
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
    except Exception:  # noqa: BLE001 - a handler bug must not stop other events
        log.exception("handler failed for webhook event %s (%s)", event.event_id, event.event_type)
        event.refresh_from_db()
        event.status = WebhookEvent.Status.FAILED
        event.attempts += 1
        event.last_error = traceback.format_exc()
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
    _publish(event)
    return event


def events_reprocess(*, queryset, user) -> int:
    """Mark the chosen events pending again and queue them; returns how many (`user` None: the system)."""
    if user is not None and not user.has_perm("webhooks.reprocess_webhookevent"):
        raise PermissionDenied("You do not have permission to re-process webhook events.")
    pks = list(queryset.values_list("pk", flat=True))
    WebhookEvent.objects.filter(pk__in=pks).update(status=WebhookEvent.Status.PENDING)
    for pk in pks:
        transaction.on_commit(lambda pk=pk: queue_processing(pk))
    live.publish_admin_changed("webhooks", "webhookevent")
    return len(pks)


def events_sweep(*, older_than_seconds: int, limit: int = 500) -> int:
    """Queue pending events that no worker took (a lost task message loses nothing)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pks = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        queue_processing(pk)
    return len(pks)


def _publish(event: WebhookEvent, *, new: bool = False) -> None:
    from django.template.loader import render_to_string

    html = render_to_string("webhooks/_event_row.html", {"event": event, "oob": True, "new": new})
    live.publish_on_commit("events", html)
    live.publish_admin_changed("webhooks", "webhookevent")
    if event.status == WebhookEvent.Status.FAILED:
        live.publish_dashboard()


def pretty_payload(event: WebhookEvent) -> str:
    """The payload indented for reading."""
    return json.dumps(event.payload, indent=2, sort_keys=True)
