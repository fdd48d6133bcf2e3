"""Retention of finished commands (COMMAND_RETENTION_DAYS, issue 32): queued and running ones are never deleted."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from portal.models import Command

FINISHED = (Command.Status.SUCCEEDED, Command.Status.FAILED, Command.Status.OUTCOME_UNKNOWN)
BATCH = 5000  # rows per delete: short transactions beside the command workers' writes


def commands_purge(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Delete finished commands created more than COMMAND_RETENTION_DAYS ago (0: keep all); returns how many.

    What was issued, by whom and through which door stays in the audit trail (AUDIT_RETENTION_DAYS);
    a retry or a dialed leg that pointed at a deleted command keeps its row with the link emptied.
    """
    days = settings.COMMAND_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Command.objects.filter(created_at__lt=cutoff, status__in=FINISHED).order_by("id")
    total = 0
    while pks := list(old.values_list("pk", flat=True)[:batch]):
        Command.objects.filter(pk__in=pks).delete()
        total += len(pks)
    return total
