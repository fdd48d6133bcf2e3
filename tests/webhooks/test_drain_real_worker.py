"""Webhook intake and drain across a real Celery worker (issue 27): stored, nudged, drained, applied."""
import pytest

from calls.models import Call
from tests.real_worker import wait_until
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.real_worker]


def test_delivered_events_are_drained_by_the_worker_in_order(real_worker, post_webhook, event_doc):
    # Delivered out of order: the drain applies them by occurred_at, so the hang-up is final.
    assert post_webhook(event_doc("call.hangup", id="ev-3", occurred_at="2026-11-23T09:05:00Z")).status_code == 200
    assert post_webhook(event_doc("call.initiated", id="ev-1", occurred_at="2026-11-23T09:00:00Z")).status_code == 200
    assert post_webhook(event_doc("call.answered", id="ev-2", occurred_at="2026-11-23T09:01:00Z")).status_code == 200

    def drained():
        statuses = set(WebhookEvent.objects.values_list("status", flat=True))
        return statuses == {WebhookEvent.Status.PROCESSED} and WebhookEvent.objects.count() == 3

    wait_until(drained, what="the drain of three events")
    call = Call.objects.get(call_control_id="v3:cc-alice")
    assert call.state == Call.State.HANGUP
    assert call.answered_at is not None and call.ended_at.isoformat() == "2026-11-23T09:05:00+00:00"
