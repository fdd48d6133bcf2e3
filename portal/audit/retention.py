"""Retention of the recording access log (ACCESS_LOG_RETENTION_DAYS, issue 32): plays and downloads in the audit trail."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from portal.audit.models import AuditEntry

ACCESS_KINDS = (AuditEntry.Kind.RECORDING_PLAYED, AuditEntry.Kind.RECORDING_DOWNLOADED)


def access_log_purge(*, now: datetime | None = None) -> int:
    """Remove play and download entries older than ACCESS_LOG_RETENTION_DAYS (0: keep them); returns how many.

    The rest of the trail (deletions of recordings included) follows AUDIT_RETENTION_DAYS, kept longest.
    """
    days = settings.ACCESS_LOG_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return AuditEntry.objects.filter(kind__in=ACCESS_KINDS).purge_before(cutoff)
