"""Reads of the audit trail for the Audit page, its CSV export and GET /api/v1/audit/."""
import django_filters

from portal.audit.models import AuditEntry
from portal.filters import MomentFilter, TimeRangeFilterSet


def audit_queryset():
    return AuditEntry.objects.all()


class AuditFilter(TimeRangeFilterSet):
    """Filters shared by the Audit page, its CSV export and the API (since / until: when it happened)."""

    time_field = "at"

    user = django_filters.CharFilter(field_name="username", label="User")
    kind = django_filters.ChoiceFilter(choices=AuditEntry.Kind.choices, label="Kind")
    since = MomentFilter(bound="start", label="Since")
    until = MomentFilter(bound="end", label="Until")

    class Meta:
        model = AuditEntry
        fields = ["user", "kind", "since", "until"]


def recording_access(recording_id: str, limit: int = 100):
    """Plays and downloads of one recording, newest first (the recording page's "who listened")."""
    kinds = [AuditEntry.Kind.RECORDING_PLAYED, AuditEntry.Kind.RECORDING_DOWNLOADED]
    return AuditEntry.objects.filter(target=recording_id, kind__in=kinds)[:limit]
