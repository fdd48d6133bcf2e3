"""Events applied again: retries of a failed event, re-processing chosen events, sweeping lost ones."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal import live
from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from webhooks.models import WebhookEvent

log = logging.getLogger(__name__)


def queue_processing(event_pk: int) -> None:
    """Hand one event to a worker (retries, re-processing); if the broker is down the sweeper finds it."""
    from webhooks.tasks import process_event  # the tasks module imports the services that import this

    try:
        process_event.delay(event_pk)
    except Exception:  # noqa: BLE001 - any broker failure; the event is stored and will be swept
        log.warning("could not queue webhook event %s; the sweeper will pick it up", event_pk, exc_info=True)


def retry_later(event_pk: int, attempts: int) -> None:
    from webhooks.tasks import process_event  # the tasks module imports the services that import this

    try:
        process_event.apply_async((event_pk,), countdown=min(300, 2**attempts))
    except Exception:  # noqa: BLE001 - stays failed; re-process from the admin or the command
        log.warning("could not schedule a retry of webhook event %s", event_pk, exc_info=True)


def drain_again() -> None:
    """Queue one more drain (the sweeper finds what is left if the broker is down)."""
    from webhooks.tasks import process_pending  # the tasks module imports the services that import this

    try:
        process_pending.delay()
    except Exception:  # noqa: BLE001 - the sweeper finds what is left
        log.warning("could not queue the next webhook drain", exc_info=True)


def events_reprocess(*, queryset, user) -> int:
    """Mark the chosen events pending again and nudge the processor; returns how many (`user` None: the system)."""
    if user is not None and not user.has_perm("webhooks.reprocess_webhookevent"):
        raise PermissionDenied("You do not have permission to re-process webhook events.")
    chosen = list(queryset.values_list("pk", "event_id"))
    pks = [pk for pk, _ in chosen]
    with transaction.atomic():
        WebhookEvent.objects.filter(pk__in=pks).update(status=WebhookEvent.Status.PENDING)
        if pks:
            event_ids = [event_id for _, event_id in chosen]
            audit_record(
                kind=AuditEntry.Kind.EVENT_REPROCESSED, user=user,
                target=event_ids[0] if len(event_ids) == 1 else f"{len(event_ids)} events",
                summary=f"{len(event_ids)} webhook event(s) queued for re-processing",
                detail={"count": len(event_ids), "event_ids": event_ids[:500]},
            )
    if pks:
        transaction.on_commit(drain_again)
    live.publish_admin_changed("webhooks", "webhookevent")
    return len(pks)


def events_sweep(*, older_than_seconds: int) -> int:
    """Count pending events no drain took in time and drain them (a lost task message loses nothing)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    stale = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING, received_at__lt=cutoff).count()
    if stale:
        drain_again()
    return stale
