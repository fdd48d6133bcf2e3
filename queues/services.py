"""Writes to queues and queued callers, applied from call.enqueued / call.dequeued."""
from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string

from portal import live
from queues.models import Queue, QueuedCall
from webhooks.ordering import apply_if_newer


def queued_call_enter(
    *, queue_name: str, call_control_id: str, call_session_id: str, position: int | None,
    average_wait_secs: int | None, occurred_at: datetime,
) -> QueuedCall:
    """Record a caller entering a queue (idempotent; an earlier 'left' is not undone)."""
    queue, _ = Queue.objects.get_or_create(name=queue_name)
    if average_wait_secs is not None:
        Queue.objects.filter(pk=queue.pk).update(average_wait_secs=average_wait_secs)
    stay, created = QueuedCall.objects.get_or_create(
        queue=queue, call_control_id=call_control_id,
        defaults={"enqueued_at": occurred_at, "call_session_id": call_session_id, "position": position},
    )
    if not created:
        apply_if_newer(stay, occurred_at, {"position": position, "enqueued_at": min(stay.enqueued_at, occurred_at)})
    else:
        stay.last_event_at = occurred_at
        stay.save(update_fields=["last_event_at"])
    publish_queues()
    return stay


def queued_call_leave(
    *, queue_name: str, call_control_id: str, reason: str, wait_time_secs: int | None, occurred_at: datetime
) -> QueuedCall:
    """Record a caller leaving a queue, even if the 'entered' event has not arrived yet."""
    queue, _ = Queue.objects.get_or_create(name=queue_name)
    stay, _ = QueuedCall.objects.get_or_create(
        queue=queue, call_control_id=call_control_id, defaults={"enqueued_at": occurred_at}
    )
    apply_if_newer(stay, occurred_at, {"left_at": occurred_at, "leave_reason": reason, "wait_time_secs": wait_time_secs})
    publish_queues()
    return stay


def publish_queues() -> None:
    from queues.selectors import queue_overview

    live.publish_rendered_once(
        "queues",
        lambda: [("queues", render_to_string("queues/_queue_table.html", {"queues": queue_overview(), "oob": True}))],
    )
    live.publish_admin_changed("queues", "queuedcall")
    live.publish_dashboard()
