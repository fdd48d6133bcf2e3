"""Prometheus: deliveries counted where they end; open alerts read from the database at scrape."""
from __future__ import annotations

from django.db.models import Count
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from alerts.models import Alert, Severity
from portal import metrics as portal_metrics  # first: it switches prometheus_client to multiprocess mode

DELIVERIES = Counter(
    "portal_alert_deliveries", "Alert delivery attempts' outcomes by channel kind: sent, failed, retrying.",
    ["kind", "outcome"],
)


@portal_metrics.safe
def delivery_outcome(kind: str, outcome: str) -> None:
    DELIVERIES.labels(kind, outcome).inc()


def families():
    """portal_alerts_open{severity}: alerts not resolved (open or acknowledged), one query."""
    found = dict(Alert.objects.filter(resolved_at__isnull=True).values("severity").annotate(n=Count("id"))
                 .values_list("severity", "n"))
    family = GaugeMetricFamily("portal_alerts_open", "Alerts not yet resolved (open or acknowledged), by severity.",
                               labels=["severity"])
    for severity in Severity.values:
        family.add_metric([severity], found.get(severity, 0))
    yield family
