"""A force-removed caller is one stay, whatever order the removal's success and its call.dequeued arrive in (issue 30)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import Command
from queues.figures import queue_metrics
from queues.models import Queue, QueuedCall

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def queued(post_webhook, event_doc):
    """Enqueue `ccid` 60 s ago through the webhook door."""

    def enqueue(ccid: str):
        start = timezone.now() - timedelta(seconds=60)
        doc = event_doc("call.enqueued", id=f"enq-{ccid}", occurred_at=iso(start), call_control_id=ccid, queue="support",
                        current_position=1)
        assert post_webhook(doc).status_code == 200
        return start

    return enqueue


def dequeued(event_doc, ccid, when, start):
    # Telnyx reports a removal as a call.dequeued with reason "leave".
    return event_doc("call.dequeued", id=f"deq-{ccid}", occurred_at=iso(when), call_control_id=ccid, queue="support",
                     reason="leave", wait_time_secs=int((when - start).total_seconds()), queue_position=1)


def remove(client, ccid, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/queues/support/calls/{ccid}/")
    assert response.status_code == 202, response.content


# Telnyx's clock and the webhook's delivery relative to the portal's record of the command's success.
ORDERS = {
    "webhook after success, stamped later": ("after", timedelta(seconds=2)),
    "webhook after success, stamped earlier": ("after", timedelta(seconds=-1)),
    "webhook before success": ("before", timedelta(0)),
}


@pytest.mark.resilience("Queue removal: call.dequeued before / after the command's success")
@pytest.mark.parametrize("order", list(ORDERS))
def test_a_removed_caller_is_one_stay(order, queued, post_webhook, event_doc, operator, client, telnyx,
                                       django_capture_on_commit_callbacks, resilience):
    removal = telnyx.delete(url__regex=r"/queues/support/calls/.+").respond(204)
    client.force_login(operator)
    callers = ["v3:dead-1", "v3:dead-2"]
    for ccid in callers:
        start = queued(ccid)
        arrival, skew = ORDERS[order]
        if arrival == "before":
            # Asked for; Telnyx dequeues and its webhook is applied before the worker records the success.
            with django_capture_on_commit_callbacks() as pending:
                assert client.delete(f"/api/v1/queues/support/calls/{ccid}/").status_code == 202
            assert post_webhook(dequeued(event_doc, ccid, timezone.now(), start)).status_code == 200
            for callback in pending:
                callback()
        else:
            remove(client, ccid, django_capture_on_commit_callbacks)
            assert post_webhook(dequeued(event_doc, ccid, timezone.now() + skew, start)).status_code == 200
    resilience.tried(len(callers))
    assert removal.call_count == len(callers)
    assert set(Command.objects.values_list("status", flat=True)) == {Command.Status.SUCCEEDED}
    stays = list(QueuedCall.objects.order_by("call_control_id"))
    resilience.doubled(len(stays) - len(callers))
    assert [(s.call_control_id, s.leave_reason) for s in stays] == [(c, QueuedCall.Reason.REMOVED) for c in callers]
    assert all(s.left_event_at is not None and s.left_at == s.left_event_at for s in stays)  # Telnyx's time kept
    queue = Queue.objects.get(name="support")
    hour = queue_metrics(window="hour", queues=[queue])[queue.pk].as_dict()
    assert (hour["offered"], hour["finished"]) == (2, 2)
