"""Each metric fires on its own condition and resolves when it clears (issue 26)."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.measure import measure
from alerts.models import Alert
from ops.models import Heartbeat
from portal.models import Command
from tests.alerts.factories import AlertRuleFactory
from tests.factories import CommandFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def finished(queue, *, wait, reason, ago=timedelta(minutes=5)):
    start = timezone.now() - ago
    return QueuedCallFactory(queue=queue, enqueued_at=start, left_at=start + timedelta(seconds=wait),
                             leave_reason=reason, wait_time_secs=wait, is_alive=False)


def fire_then_clear(rule_kwargs, make_true, make_clear, scope):
    AlertRuleFactory(for_secs=0, **rule_kwargs)
    make_true()
    evaluate()
    alert = Alert.objects.get()
    assert (alert.status, alert.scope, alert.metric) == ("open", scope, rule_kwargs["metric"])
    make_clear()
    evaluate()
    alert.refresh_from_db()
    assert alert.status == "resolved"
    return alert


def test_service_level_below_its_threshold_against_the_queues_own_target():
    queue = QueueFactory(name="sl", service_level_target_secs=20)
    finished(queue, wait=10, reason="bridged")
    late = finished(queue, wait=50, reason="bridged")  # outside the queue's 20 s target
    assert measure({"service_level_percent"}).values["service_level_percent"]["queue:sl"] == 50.0

    def catch_up():
        late.delete()
    fire_then_clear({"metric": "service_level_percent", "operator": "<", "threshold": 80}, lambda: None, catch_up,
                    "queue:sl")


def test_a_queue_nobody_finished_today_has_no_service_level_and_fires_nothing():
    QueueFactory(name="quiet")
    AlertRuleFactory(metric="service_level_percent", operator="<", threshold=80, for_secs=0)
    evaluate()
    assert not Alert.objects.exists()


def test_abandon_rate_over_the_last_hour():
    queue = QueueFactory(name="ab")
    finished(queue, wait=5, reason="bridged")
    gone = finished(queue, wait=30, reason="hangup")
    old = finished(queue, wait=30, reason="hangup", ago=timedelta(hours=2))  # outside the hour
    assert measure({"abandon_rate_percent"}).values["abandon_rate_percent"]["queue:ab"] == 50.0
    assert old.pk
    fire_then_clear({"metric": "abandon_rate_percent", "threshold": 20}, lambda: None, gone.delete, "queue:ab")


def test_failed_commands_in_the_last_15_minutes():
    def fail():
        CommandFactory(status=Command.Status.FAILED)

    def age():
        Command.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    fire_then_clear({"metric": "failed_commands", "threshold": 0}, fail, age, "system")


def test_failed_events_in_the_last_15_minutes():
    def fail():
        WebhookEvent.objects.create(event_id="e1", event_type="call.hangup", payload={}, status=WebhookEvent.Status.FAILED)

    def age():
        WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=20))
    fire_then_clear({"metric": "failed_events", "threshold": 0}, fail, age, "system")


def test_webhook_lag_is_the_age_of_the_oldest_pending_event():
    def lag():
        WebhookEvent.objects.create(event_id="e2", event_type="call.hangup", payload={})
        WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=90))

    def drained():
        WebhookEvent.objects.update(status=WebhookEvent.Status.PROCESSED)
    fire_then_clear({"metric": "webhook_lag_secs", "threshold": 60}, lag, drained, "system")


def test_workers_missing_counts_unconsumed_task_queues_and_a_missing_beat():
    now = timezone.now()
    assert measure({"workers_missing"}).values["workers_missing"]["system"] == len(settings.PORTAL_TASK_QUEUES) + 1

    def partial():
        Heartbeat.objects.create(kind=Heartbeat.Kind.WORKER, name="w1", seen_at=now, detail={"queues": ["events"]})
        Heartbeat.objects.create(kind=Heartbeat.Kind.BEAT, name="beat", seen_at=now)

    def complete():
        Heartbeat.objects.create(kind=Heartbeat.Kind.WORKER, name="w2", seen_at=now,
                                 detail={"queues": list(settings.PORTAL_TASK_QUEUES)})
    fire_then_clear({"metric": "workers_missing", "threshold": 0}, partial, complete, "system")
    Heartbeat.objects.filter(kind=Heartbeat.Kind.BEAT).update(seen_at=now - timedelta(hours=1))
    assert measure({"workers_missing"}).values["workers_missing"]["system"] == 1.0
