"""Evaluating every enabled rule at once: breaches start, alerts fire after for_secs, resolve when clear.

A fixed number of queries whatever the number of rules and queues: the rules (with their channels), the
metrics they need (alerts/measure.py), the breaches and unresolved or recently resolved alerts, then bulk
writes. One evaluation at a time (a cache lock): beat and the after-event trigger may overlap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from alerts import live
from alerts.measure import SYSTEM, Measurement, measure, queue_scope
from alerts.models import QUEUE_METRICS, Alert, AlertDelivery, AlertRule, Breach
from alerts.services import deliveries_queue, plan_deliveries

LOCK_KEY = "alerts:evaluating"
LOCK_SECONDS = 60
Key = tuple[int, str]  # (rule pk, scope)


@dataclass
class Outcome:
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    reopened: list[Alert] = field(default_factory=list)
    skipped: bool = False

    def counts(self) -> dict:
        return {"fired": len(self.fired), "resolved": len(self.resolved), "skipped": self.skipped}


def observed_values(rules: list[AlertRule], measured: Measurement) -> dict[Key, float | None]:
    """(rule, scope) -> value for every scope each rule watches."""
    observed: dict[Key, float | None] = {}
    for rule in rules:
        values = measured.values.get(rule.metric, {})
        if rule.metric not in QUEUE_METRICS:
            observed[(rule.pk, SYSTEM)] = values.get(SYSTEM)
        elif rule.queue_id is not None:
            scope = queue_scope(rule.queue.name)
            if scope in values:  # a deleted queue has no scope: its alert resolves
                observed[(rule.pk, scope)] = values[scope]
        else:
            for scope, value in values.items():
                observed[(rule.pk, scope)] = value
    return observed


def evaluate(*, now: datetime | None = None) -> Outcome:
    """Evaluate every enabled rule now; skipped (returns at once) while another evaluation runs."""
    if not cache.add(LOCK_KEY, 1, timeout=LOCK_SECONDS):
        return Outcome(skipped=True)
    try:
        return _evaluate(now or timezone.now())
    finally:
        cache.delete(LOCK_KEY)


def _evaluate(now: datetime) -> Outcome:
    rules = list(AlertRule.objects.filter(enabled=True).select_related("queue").prefetch_related("channels"))
    by_pk = {rule.pk: rule for rule in rules}
    measured = measure({rule.metric for rule in rules}, now=now)
    observed = observed_values(rules, measured)
    outcome = Outcome()
    with transaction.atomic():
        breaches = {(b.rule_id, b.scope): b for b in Breach.objects.all()}
        unresolved = {(a.rule_id, a.scope): a for a in Alert.objects.filter(resolved_at__isnull=True)}
        cutoff = now - timedelta(seconds=settings.ALERTS_REOPEN_SECONDS)
        recent = {(a.rule_id, a.scope): a for a in Alert.objects.filter(resolved_at__gte=cutoff).order_by("resolved_at")}
        new_breaches: list[Breach] = []
        breaching: set[Key] = set()
        new_alerts: list[Alert] = []
        deliveries: list[AlertDelivery] = []
        for key, value in observed.items():
            rule = by_pk[key[0]]
            alert = unresolved.get(key)
            if not rule.breached(value):
                if alert is not None:
                    _resolve(alert, now, outcome, deliveries, rule)
                continue
            breaching.add(key)
            if alert is not None:
                continue  # still holding: nothing to write (its value is the one it fired with)
            if key not in breaches:
                breaches[key] = Breach(rule=rule, scope=key[1], since=now)
                new_breaches.append(breaches[key])
            previous = recent.get(key)
            if previous is not None:  # the same condition back within ALERTS_REOPEN_SECONDS: the same alert
                previous.status = Alert.Status.ACKNOWLEDGED if previous.acknowledged_at else Alert.Status.OPEN
                previous.resolved_at, previous.value = None, value
                outcome.fired.append(previous)
                outcome.reopened.append(previous)
                deliveries += plan_deliveries(previous, rule.channels.all(), AlertDelivery.Event.FIRED)
            elif (now - breaches[key].since).total_seconds() >= rule.for_secs:
                alert = Alert(rule=rule, rule_name=rule.name, scope=key[1], queue_id=measured.queue_ids.get(key[1]),
                              metric=rule.metric, operator=rule.operator, threshold=rule.threshold,
                              severity=rule.severity, value=value, opened_at=now)
                new_alerts.append(alert)
                outcome.fired.append(alert)
        for key, alert in unresolved.items():
            if key not in observed:  # rule disabled or deleted, queue gone
                _resolve(alert, now, outcome, deliveries, by_pk.get(key[0]))
        Alert.objects.bulk_create(new_alerts)
        for alert in new_alerts:
            deliveries += plan_deliveries(alert, by_pk[alert.rule_id].channels.all(), AlertDelivery.Event.FIRED)
        if outcome.reopened:  # few: a condition back within ALERTS_REOPEN_SECONDS
            Alert.objects.bulk_update(outcome.reopened, ["status", "value", "resolved_at"], batch_size=100)
        if outcome.resolved:  # one UPDATE however many (a CASE per row would grow with them)
            Alert.objects.filter(pk__in=[a.pk for a in outcome.resolved]).update(status=Alert.Status.RESOLVED, resolved_at=now)
        Breach.objects.bulk_create(new_breaches)
        gone = [b.pk for key, b in breaches.items() if key not in breaching and b.pk is not None]
        if gone:
            Breach.objects.filter(pk__in=gone).delete()
        if deliveries:
            deliveries_queue(deliveries)
        if outcome.fired or outcome.resolved:
            live.publish_alerts()
    return outcome


def _resolve(alert: Alert, now: datetime, outcome: Outcome, deliveries: list, rule: AlertRule | None) -> None:
    alert.status, alert.resolved_at = Alert.Status.RESOLVED, now
    outcome.resolved.append(alert)
    if rule is not None:
        deliveries += plan_deliveries(alert, rule.channels.all(), AlertDelivery.Event.RESOLVED)
