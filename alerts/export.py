"""The Alerts page's CSV (defusedcsv: a cell starting with = + - @ | % is shown, never run)."""
import io

from defusedcsv import csv

COLUMNS = ["id", "rule", "severity", "status", "where", "metric", "operator", "threshold", "value", "opened_at",
           "acknowledged_at", "acknowledged_by", "note", "resolved_at", "duration_secs"]


def csv_rows(queryset):
    """Header, then one line per alert (streamed in chunks)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    yield out.getvalue()
    for alert in queryset.iterator(chunk_size=500):
        out.seek(0)
        out.truncate()
        writer.writerow([
            alert.pk, alert.rule_name, alert.severity, alert.status, alert.where, alert.metric, alert.operator,
            f"{alert.threshold:g}", "" if alert.value is None else f"{alert.value:g}", alert.opened_at.isoformat(),
            alert.acknowledged_at.isoformat() if alert.acknowledged_at else "",
            alert.acknowledged_by.get_username() if alert.acknowledged_by_id else "", alert.note,
            alert.resolved_at.isoformat() if alert.resolved_at else "", alert.duration_secs if alert.duration_secs is not None else "",
        ])
        yield out.getvalue()
