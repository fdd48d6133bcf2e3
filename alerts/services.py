"""Every write of the alerts app: rules, channels, acknowledgement, deliveries (issue 26).

Permission is checked here, so the pages, the admin and the API refuse the same people.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from alerts import live
from alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule
from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.sealing import seal

log = logging.getLogger("alerts")
ACKNOWLEDGE = "alerts.acknowledge_alert"
RULE_FIELDS = ["name", "metric", "queue", "operator", "threshold", "for_secs", "severity", "enabled"]
CHANNEL_FIELDS = ["name", "kind", "target", "send_on_acknowledge"]


def _require(user, permission: str, what: str) -> None:
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(f"You do not have permission to {what}.")


def _audit(user, summary: str, target: str, detail: dict) -> None:
    audit_record(kind=AuditEntry.Kind.SETTING_CHANGED, user=user, target=target, summary=summary, detail=detail)


# --- rules ----------------------------------------------------------------------------------------
def alert_rule_create(*, user, channels: Iterable[AlertChannel] = (), **fields) -> AlertRule:
    """A new rule from validated fields (RULE_FIELDS); Administrators only."""
    _require(user, "alerts.add_alertrule", "manage alert rules")
    with transaction.atomic():
        rule = AlertRule.objects.create(**{k: v for k, v in fields.items() if k in RULE_FIELDS})
        rule.channels.set(list(channels))
        _audit(user, f"Alert rule {rule.name} created: {rule.condition}", f"alert rule {rule.pk}", {"rule": rule.pk})
        live.publish_alerts()
    return rule


def alert_rule_update(*, rule: AlertRule, user, channels: Iterable[AlertChannel] | None = None, **fields) -> AlertRule:
    """Change some of a rule's fields; an alert it holds open resolves at the next evaluation if it no longer applies."""
    _require(user, "alerts.change_alertrule", "manage alert rules")
    changes = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    with transaction.atomic():
        for name, value in changes.items():
            setattr(rule, name, value)
        rule.save()
        if channels is not None:
            rule.channels.set(list(channels))
        # A changed condition starts its hold time afresh.
        rule.breaches.all().delete()
        _audit(user, f"Alert rule {rule.name} changed: {rule.condition}, enabled={rule.enabled}", f"alert rule {rule.pk}",
               {"rule": rule.pk, "changed": sorted(changes) + (["channels"] if channels is not None else [])})
        live.publish_alerts()
    return rule


def alert_rule_delete(*, rule: AlertRule, user) -> None:
    """Delete a rule; its unresolved alerts resolve now (their history stays, with the rule's name)."""
    _require(user, "alerts.delete_alertrule", "manage alert rules")
    with transaction.atomic():
        now = timezone.now()
        rule.alerts.filter(resolved_at__isnull=True).update(status=Alert.Status.RESOLVED, resolved_at=now)
        _audit(user, f"Alert rule {rule.name} deleted", f"alert rule {rule.pk}", {"rule": rule.pk})
        rule.delete()
        live.publish_alerts()


def alert_rules_enable_defaults() -> int:
    """Enable the rules the portal installed (`make run` with the sandbox does, so a newcomer sees one fire)."""
    with transaction.atomic():
        count = AlertRule.objects.filter(is_default=True, enabled=False).update(enabled=True)
        if count:
            _audit(None, f"{count} default alert rule(s) enabled for the sandbox", "alert rules", {"enabled": count})
    return count


# --- channels -------------------------------------------------------------------------------------
def alert_channel_create(*, user, secret: str = "", **fields) -> AlertChannel:
    """A new channel; a webhook's secret is stored sealed and never shown again."""
    _require(user, "alerts.add_alertchannel", "manage alert channels")
    with transaction.atomic():
        channel = AlertChannel.objects.create(
            **{k: v for k, v in fields.items() if k in CHANNEL_FIELDS}, sealed_secret=seal({"secret": secret}) if secret else {}
        )
        _audit(user, f"Alert channel {channel.name} ({channel.kind}) created", f"alert channel {channel.pk}",
               {"channel": channel.pk})
    return channel


def alert_channel_update(*, channel: AlertChannel, user, secret: str | None = None, **fields) -> AlertChannel:
    """Change a channel; `secret` None keeps the stored one, "" forgets it."""
    _require(user, "alerts.change_alertchannel", "manage alert channels")
    changes = {k: v for k, v in fields.items() if k in CHANNEL_FIELDS}
    with transaction.atomic():
        for name, value in changes.items():
            setattr(channel, name, value)
        if secret is not None:
            channel.sealed_secret = seal({"secret": secret}) if secret else {}
        channel.save()
        changed = sorted(changes) + (["secret"] if secret is not None else [])
        _audit(user, f"Alert channel {channel.name} changed ({', '.join(changed) or 'nothing'})",
               f"alert channel {channel.pk}", {"channel": channel.pk, "changed": changed})
    return channel


def alert_channel_delete(*, channel: AlertChannel, user) -> None:
    _require(user, "alerts.delete_alertchannel", "manage alert channels")
    with transaction.atomic():
        _audit(user, f"Alert channel {channel.name} deleted", f"alert channel {channel.pk}", {"channel": channel.pk})
        channel.delete()


def alert_channel_send_test(*, channel: AlertChannel, user) -> AlertDelivery:
    """Queue a test message through one channel; its delivery is logged like any other."""
    _require(user, "alerts.test_alertchannel", "send a test through alert channels")
    with transaction.atomic():
        delivery = AlertDelivery(channel=channel, event=AlertDelivery.Event.TEST)
        deliveries_queue([delivery])
    return delivery


# --- alerts ---------------------------------------------------------------------------------------
def alert_acknowledge(*, alert: Alert, user, note: str = "") -> Alert:
    """Operators and above acknowledge an open alert (who, when, an optional note); it resolves by itself later."""
    _require(user, ACKNOWLEDGE, "acknowledge alerts")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != Alert.Status.OPEN:
            raise serializers.ValidationError({"status": [f"This alert is {alert.get_status_display().lower()}, not open."]})
        alert.status, alert.acknowledged_at, alert.acknowledged_by = Alert.Status.ACKNOWLEDGED, timezone.now(), user
        alert.note = note.replace("\x00", "").strip()[:2000]  # PostgreSQL refuses NUL in text (a 500, issue 23)
        alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "note"])
        audit_record(kind=AuditEntry.Kind.ALERT_ACKNOWLEDGED, user=user, target=f"alert {alert.pk}",
                     summary=f"Alert acknowledged: {alert.rule_name} ({alert.where})"
                             + (f": {alert.note}" if alert.note else ""),
                     detail={"alert": alert.pk, "note": alert.note, "acknowledged_at": alert.acknowledged_at.isoformat()})
        if alert.rule_id:
            channels = [c for c in alert.rule.channels.all() if c.send_on_acknowledge]
            deliveries_queue(plan_deliveries(alert, channels, AlertDelivery.Event.ACKNOWLEDGED))
        live.publish_alerts()
    return alert


# --- deliveries -----------------------------------------------------------------------------------
def plan_deliveries(alert: Alert, channels: Iterable[AlertChannel], event: str) -> list[AlertDelivery]:
    """Unsaved deliveries of one alert event to each channel (acknowledgements only where the channel asks)."""
    return [
        AlertDelivery(alert=alert, channel=channel, event=event)
        for channel in channels
        if event != AlertDelivery.Event.ACKNOWLEDGED or channel.send_on_acknowledge
    ]


def deliveries_queue(deliveries: list[AlertDelivery]) -> None:
    """Store the deliveries and queue one task each after commit (inside the caller's transaction)."""
    from alerts.tasks import deliver_alert  # a service queuing its own task: tasks import services

    if not deliveries:
        return
    AlertDelivery.objects.bulk_create(deliveries)
    pks = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _send_later(deliver_alert, pks))


def _send_later(task, pks: list[int]) -> None:
    for pk in pks:
        try:
            task.delay(pk)
        except Exception:  # noqa: BLE001 - the broker is away: deliveries_requeue_unsent queues it again
            log.warning("could not queue alert delivery #%s; it is retried by the next evaluation", pk, exc_info=True)
            return


def deliveries_requeue_unsent(*, older_than_seconds: float = 120) -> int:
    """Deliveries never attempted (their task was lost, or the broker was away) are queued again."""
    from alerts.tasks import deliver_alert  # a service queuing its own task: tasks import services

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pks = list(AlertDelivery.objects.filter(status=AlertDelivery.Status.PENDING, attempts=0, created_at__lt=cutoff)
               .values_list("pk", flat=True)[:500])
    _send_later(deliver_alert, pks)
    return len(pks)
