"""Reads of alerts for the banner, the Alerts page, its CSV, the dashboard and the API."""
from __future__ import annotations

import django_filters
from django.db.models import Case, IntegerField, Value, When

from alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule, Severity
from portal.filters import MomentFilter, StrictBooleanFilter, TimeRangeFilterSet

SEVERITY_ORDER = Case(
    When(severity=Severity.CRITICAL, then=Value(0)), When(severity=Severity.WARNING, then=Value(1)),
    default=Value(2), output_field=IntegerField(),
)
BANNER_LIMIT = 5


def alert_queryset():
    return Alert.objects.select_related("queue", "acknowledged_by", "rule")


def unresolved_alerts():
    """Open and acknowledged alerts, most severe first, then open before acknowledged, newest first."""
    return alert_queryset().filter(resolved_at__isnull=True).order_by(SEVERITY_ORDER, "status", "-opened_at", "-pk")


def banner_context() -> dict:
    """What every page's banner and the navigation count show: two queries."""
    alerts = unresolved_alerts()
    shown = list(alerts[:BANNER_LIMIT])
    count = len(shown) if len(shown) < BANNER_LIMIT else alerts.count()
    return {
        "banner_alerts": shown, "alerts_unresolved": count,
        "alerts_open": sum(1 for a in shown if a.status == Alert.Status.OPEN),
        "alerts_more": max(0, count - len(shown)),
        "alerts_worst": shown[0].severity if shown else "",
    }


class AlertFilter(TimeRangeFilterSet):
    """Filters of the Alerts page, its CSV and GET /api/v1/alerts/ (since / until: when it opened)."""

    time_field = "opened_at"

    status = django_filters.ChoiceFilter(choices=Alert.Status.choices, label="Status")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, label="Severity")
    queue = django_filters.CharFilter(field_name="queue__name", label="Queue")
    rule = django_filters.NumberFilter(field_name="rule_id", label="Rule")
    active = StrictBooleanFilter(field_name="resolved_at", lookup_expr="isnull", label="Not resolved")
    since = MomentFilter(bound="start", label="Opened from")
    until = MomentFilter(bound="end", label="Opened until")

    class Meta:
        model = Alert
        fields = ["status", "severity", "queue", "rule", "active", "since", "until"]


class AlertRuleFilter(TimeRangeFilterSet):
    """GET /api/v1/alert-rules/ (since / until: when the rule was created)."""

    metric = django_filters.ChoiceFilter(choices=AlertRule._meta.get_field("metric").choices)
    enabled = StrictBooleanFilter()
    is_default = StrictBooleanFilter(label="Installed by the portal")

    class Meta:
        model = AlertRule
        fields = ["metric", "enabled", "is_default", "since", "until"]


class AlertChannelFilter(TimeRangeFilterSet):
    """GET /api/v1/alert-channels/ (since / until: when the channel was created)."""

    kind = django_filters.ChoiceFilter(choices=AlertChannel.Kind.choices)

    class Meta:
        model = AlertChannel
        fields = ["kind", "since", "until"]


def rule_queryset():
    return AlertRule.objects.select_related("queue").prefetch_related("channels")


def channel_queryset():
    return AlertChannel.objects.all()


def recent_deliveries(*, channel: AlertChannel | None = None, alert: Alert | None = None, limit: int = 50):
    rows = AlertDelivery.objects.select_related("channel", "alert")
    if channel is not None:
        rows = rows.filter(channel=channel)
    if alert is not None:
        rows = rows.filter(alert=alert)
    return rows[:limit]
