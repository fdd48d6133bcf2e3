"""A queue event re-evaluates the rules at once after its batch commits, not only at the next beat (issue 26)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from tests.alerts.factories import AlertRuleFactory

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def test_a_caller_entering_a_queue_fires_a_zero_hold_rule_through_the_webhook(post_webhook, event_doc):
    AlertRuleFactory(name="Anyone waiting", metric="callers_waiting", threshold=0, for_secs=0, severity="info")
    doc = event_doc("call.enqueued", id="enq-alert", occurred_at=iso(timezone.now() - timedelta(seconds=3)),
                    call_control_id="v3:caller", queue="support", current_position=1)
    assert post_webhook(doc).status_code == 200
    alert = Alert.objects.get()
    assert (alert.rule_name, alert.scope, alert.status, alert.value) == ("Anyone waiting", "queue:support", "open", 1.0)

    from django.core.cache import cache

    cache.delete("alerts:evaluate-soon")  # the throttle (one evaluation a second) is not what this test is about
    left = event_doc("call.dequeued", id="deq-alert", occurred_at=iso(timezone.now()), call_control_id="v3:caller",
                     queue="support", reason="bridged", wait_time_secs=3, queue_position=1)
    assert post_webhook(left).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_a_burst_of_queue_events_queues_one_evaluation_a_second(post_webhook, event_doc, monkeypatch):
    from alerts import handlers

    queued = []
    monkeypatch.setattr(handlers.evaluate_alerts, "delay", lambda: queued.append(1))
    for n in range(3):
        doc = event_doc("call.enqueued", id=f"enq-burst-{n}", occurred_at=iso(timezone.now()),
                        call_control_id=f"v3:burst-{n}", queue="support", current_position=n + 1)
        assert post_webhook(doc).status_code == 200
    assert queued == [1]
