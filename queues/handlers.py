"""Queue webhooks → stays of callers in queues (call.enqueued, call.dequeued, and call.hangup for kept calls)."""
from queues.batch import (
    preload_queues,
    preload_stays,
    preload_waiting_calls,
    stays_touched,
    surely_not_waiting,
)
from queues.services import queued_call_enter, queued_call_hung_up, queued_call_leave
from webhooks.payloads import number, text


def on_enqueued(event):
    p = event.payload
    if not text(p, "queue") or not text(p, "call_control_id"):
        return
    queued_call_enter(
        queue_name=text(p, "queue"), call_control_id=text(p, "call_control_id"),
        occurred_at=event.occurred_at or event.received_at, position=number(p, "current_position"),
        average_wait_secs=number(p, "queue_avg_wait_time_secs"), call_leg_id=text(p, "call_leg_id"),
        call_session_id=text(p, "call_session_id"), from_number=text(p, "from"), to_number=text(p, "to"),
    )
    stays_touched(text(p, "call_control_id"))  # its hangup in this batch looks at the stays


def on_dequeued(event):
    p = event.payload
    if not text(p, "queue") or not text(p, "call_control_id"):
        return
    queued_call_leave(
        queue_name=text(p, "queue"), call_control_id=text(p, "call_control_id"),
        occurred_at=event.occurred_at or event.received_at, reason=text(p, "reason", 64),
        wait_time_secs=number(p, "wait_time_secs"), position=number(p, "queue_position"),
        call_leg_id=text(p, "call_leg_id"), call_session_id=text(p, "call_session_id"),
    )
    stays_touched(text(p, "call_control_id"))


def on_hangup(event):
    # With keep_after_hangup the caller stays in line after hanging up (no call.dequeued): mark it not alive.
    call_control_id = text(event.payload, "call_control_id")
    if call_control_id and not surely_not_waiting(call_control_id):  # the batch asked for all its calls at once
        queued_call_hung_up(call_control_id=call_control_id, occurred_at=event.occurred_at or event.received_at)


HANDLERS = {"call.enqueued": on_enqueued, "call.dequeued": on_dequeued, "call.hangup": on_hangup}


# The queues a batch names, and which hung-up calls wait in a queue: one query each (issue 25).
BATCH_PRELOADS = [preload_queues, preload_stays, preload_waiting_calls]
