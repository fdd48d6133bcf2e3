"""Every write to the audit trail: record one entry, purge entries past retention."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from portal.audit.context import client_address, current_request, door_of
from portal.audit.models import AuditEntry

Kind = AuditEntry.Kind


def actor_of_request():
    """The signed-in user of the request being served, or None (the system, or nobody signed in)."""
    user = getattr(current_request(), "user", None)
    return user if user is not None and user.is_authenticated else None


def audit_record(
    *,
    kind: str,
    summary: str,
    user=None,
    username: str = "",
    target: str = "",
    door: str = "",
    detail: dict | None = None,
    request=None,
) -> AuditEntry:
    """Append one entry: who (`user`, or `username` for a name that matched nobody), what, where from.

    The address and, unless given, the door come from `request` or the request being served;
    outside a request (workers, beat) the door is "system" and there is no address. Call it inside
    the transaction of the change it records, so the two commit or roll back together.
    """
    request = request if request is not None else current_request()
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry.objects.create(
        kind=kind,
        actor_id=user.pk if authenticated else None,
        username=(user.get_username() if authenticated else username)[:150],
        address=client_address(request),
        door=door or door_of(request),
        target=str(target)[:255],
        summary=summary[:500],
        detail=detail or {},
    )


def audit_purge(*, now=None) -> int:
    """Remove entries older than AUDIT_RETENTION_DAYS (0 keeps everything); returns how many."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    return AuditEntry.objects.purge_before((now or timezone.now()) - timedelta(days=days))
