"""Queue webhooks → queued callers."""
from queues.services import queued_call_enter, queued_call_leave
from webhooks.payloads import number, text


def on_enqueued(event):
    p = event.payload
    queued_call_enter(
        queue_name=text(p, "queue"), call_control_id=text(p, "call_control_id"),
        call_session_id=text(p, "call_session_id"), position=number(p, "current_position"),
        average_wait_secs=number(p, "queue_avg_wait_time_secs"), occurred_at=event.occurred_at or event.received_at,
    )


def on_dequeued(event):
    p = event.payload
    queued_call_leave(
        queue_name=text(p, "queue"), call_control_id=text(p, "call_control_id"), reason=text(p, "reason", 64),
        wait_time_secs=number(p, "wait_time_secs"), occurred_at=event.occurred_at or event.received_at,
    )


HANDLERS = {"call.enqueued": on_enqueued, "call.dequeued": on_dequeued}
