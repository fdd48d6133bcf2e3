"""Rules fire after for_secs, once per rule and scope, resolve when clear, continue within a minute (issue 26)."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert, Breach
from tests.alerts.factories import AlertRuleFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db


def waiting(queue, since):
    return QueuedCallFactory(queue=queue, enqueued_at=since)


def test_a_long_wait_fires_only_after_holding_for_secs_then_resolves_when_the_caller_leaves():
    t0 = timezone.now()
    queue = QueueFactory(name="support")
    caller = waiting(queue, t0 - timedelta(seconds=100))
    rule = AlertRuleFactory(metric="longest_wait_secs", threshold=60, for_secs=30, severity="critical")

    assert evaluate(now=t0).fired == []
    assert Breach.objects.filter(rule=rule, scope="queue:support").exists()
    assert evaluate(now=t0 + timedelta(seconds=29)).fired == []
    assert not Alert.objects.exists()

    fired = evaluate(now=t0 + timedelta(seconds=30)).fired
    alert = Alert.objects.get()
    assert fired == [alert]
    assert (alert.status, alert.scope, alert.queue, alert.severity) == ("open", "queue:support", queue, "critical")
    assert alert.value == 130

    evaluate(now=t0 + timedelta(seconds=40))  # still holding: the same alert, the value it fired with
    alert = Alert.objects.get()
    assert alert.value == 130 and alert.status == "open"

    caller.left_at, caller.leave_reason, caller.wait_time_secs = t0 + timedelta(seconds=41), "bridged", 141
    caller.save()
    outcome = evaluate(now=t0 + timedelta(seconds=50))
    alert.refresh_from_db()
    assert outcome.resolved == [alert]
    assert alert.status == "resolved" and alert.resolved_at == t0 + timedelta(seconds=50)
    assert alert.duration_secs == 20
    assert not Breach.objects.exists()


def test_a_condition_that_clears_before_for_secs_opens_nothing_and_its_hold_time_starts_afresh():
    t0 = timezone.now()
    queue = QueueFactory(name="sales")
    caller = waiting(queue, t0 - timedelta(seconds=100))
    AlertRuleFactory(metric="callers_waiting", threshold=0, for_secs=30)
    evaluate(now=t0)
    caller.left_at, caller.leave_reason = t0 + timedelta(seconds=10), "hangup"
    caller.save()
    evaluate(now=t0 + timedelta(seconds=20))
    assert not Breach.objects.exists()
    waiting(queue, t0 + timedelta(seconds=25))
    evaluate(now=t0 + timedelta(seconds=31))  # would have fired had the first breach been kept
    evaluate(now=t0 + timedelta(seconds=50))
    assert not Alert.objects.exists()
    evaluate(now=t0 + timedelta(seconds=61))
    assert Alert.objects.filter(status="open").count() == 1


def test_the_same_condition_back_within_a_minute_continues_the_same_alert_later_a_new_one():
    t0 = timezone.now()
    queue = QueueFactory(name="billing")
    first = waiting(queue, t0 - timedelta(seconds=10))
    AlertRuleFactory(metric="callers_waiting", threshold=0, for_secs=0)
    evaluate(now=t0)
    alert = Alert.objects.get()
    first.left_at, first.leave_reason = t0, "hangup"
    first.save()
    evaluate(now=t0 + timedelta(seconds=5))
    alert.refresh_from_db()
    assert alert.status == "resolved"

    second = waiting(queue, t0 + timedelta(seconds=20))
    evaluate(now=t0 + timedelta(seconds=30))
    alert.refresh_from_db()
    assert Alert.objects.count() == 1
    assert alert.status == "open" and alert.resolved_at is None

    second.left_at, second.leave_reason = t0 + timedelta(seconds=31), "hangup"
    second.save()
    evaluate(now=t0 + timedelta(seconds=35))
    waiting(queue, t0 + timedelta(seconds=100))
    evaluate(now=t0 + timedelta(seconds=100))  # 65 s after the resolution: a new alert
    assert Alert.objects.count() == 2
    assert Alert.objects.filter(status="open").exclude(pk=alert.pk).count() == 1


def test_a_rule_without_a_queue_holds_one_alert_per_queue_and_a_rule_with_one_only_its_own():
    t0 = timezone.now()
    a, b = QueueFactory(name="a"), QueueFactory(name="b")
    waiting(a, t0 - timedelta(seconds=90))
    waiting(b, t0 - timedelta(seconds=90))
    AlertRuleFactory(name="every", metric="longest_wait_secs", threshold=60, for_secs=0)
    AlertRuleFactory(name="only-b", metric="longest_wait_secs", threshold=60, for_secs=0, queue=b)
    evaluate(now=t0)
    evaluate(now=t0 + timedelta(seconds=5))
    assert sorted(Alert.objects.values_list("rule_name", "scope")) == [
        ("every", "queue:a"), ("every", "queue:b"), ("only-b", "queue:b")]


def test_disabling_a_rule_resolves_its_alert_at_the_next_evaluation():
    t0 = timezone.now()
    waiting(QueueFactory(name="q"), t0 - timedelta(seconds=90))
    rule = AlertRuleFactory(metric="callers_waiting", threshold=0, for_secs=0)
    evaluate(now=t0)
    rule.enabled = False
    rule.save()
    evaluate(now=t0 + timedelta(seconds=1))
    assert Alert.objects.get().status == "resolved"


def test_an_acknowledged_alert_stays_acknowledged_until_it_resolves(django_user_model):
    from alerts.services import alert_acknowledge
    from tests.factories import UserFactory

    t0 = timezone.now()
    caller = waiting(QueueFactory(name="q"), t0 - timedelta(seconds=90))
    AlertRuleFactory(metric="callers_waiting", threshold=0, for_secs=0)
    evaluate(now=t0)
    operator = UserFactory(username="op", role="Operator")
    alert = alert_acknowledge(alert=Alert.objects.get(), user=operator, note="on it")
    evaluate(now=t0 + timedelta(seconds=2))
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.note) == ("acknowledged", operator, "on it")
    caller.left_at, caller.leave_reason = t0 + timedelta(seconds=3), "bridged"
    caller.save()
    evaluate(now=t0 + timedelta(seconds=4))
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.acknowledged_by == operator


def _count_queries(rules: int, queues: int) -> int:
    t0 = timezone.now()
    for i in range(queues):
        waiting(QueueFactory(name=f"load-{rules}-{i}"), t0 - timedelta(seconds=300))
    metrics = ["longest_wait_secs", "callers_waiting", "service_level_percent", "abandon_rate_percent",
               "failed_commands", "failed_events", "webhook_lag_secs", "workers_missing"]
    for i in range(rules):
        AlertRuleFactory(name=f"r{rules}-{i}", metric=metrics[i % len(metrics)], threshold=0, for_secs=0)
    evaluate(now=t0)  # fires
    with CaptureQueriesContext(connection) as steady:
        evaluate(now=t0 + timedelta(seconds=1))
    return len(steady.captured_queries)


def test_evaluation_costs_the_same_queries_whatever_the_number_of_rules_and_queues():
    small = _count_queries(rules=8, queues=2)
    Alert.objects.all().delete()
    from alerts.models import AlertRule

    AlertRule.objects.all().delete()
    large = _count_queries(rules=40, queues=12)
    assert Alert.objects.filter(status="open").count() > 12  # many alerts held open, none duplicated
    assert large == small, (small, large)


def test_firing_many_alerts_at_once_costs_a_fixed_number_of_queries():
    t0 = timezone.now()
    for i in range(10):
        waiting(QueueFactory(name=f"burst-{i}"), t0 - timedelta(seconds=300))
    for i in range(5):
        AlertRuleFactory(name=f"burst-rule-{i}", metric="callers_waiting", threshold=0, for_secs=0)
    with CaptureQueriesContext(connection) as firing:
        outcome = evaluate(now=t0)
    assert len(outcome.fired) == 50
    assert len(firing.captured_queries) <= 20
