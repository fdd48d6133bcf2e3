"""Every write to heartbeats: record a sign of life, record a sync's outcome, forget, prune."""
from __future__ import annotations

from django.utils import timezone

from ops.models import Heartbeat


def heartbeat_record(*, kind: str, name: str, detail: dict | None = None) -> None:
    """Upsert one process's heartbeat in a single statement (safe when several processes write at once)."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(kind=kind, name=name[:200], seen_at=timezone.now(), detail=detail or {})],
        update_conflicts=True, unique_fields=["kind", "name"], update_fields=["seen_at", "detail"],
    )


def heartbeat_forget(*, kind: str, name: str) -> None:
    """A process stopping cleanly removes its row, so the System page does not wait for it to go stale."""
    Heartbeat.objects.filter(kind=kind, name=name[:200]).delete()


def heartbeats_prune(*, older_than_seconds: int = 86400) -> int:
    """Drop process rows long dead (restarts leave one per old pid); sync rows are kept."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    deleted, _ = Heartbeat.objects.exclude(kind=Heartbeat.Kind.SYNC).filter(seen_at__lt=cutoff).delete()
    return deleted


def sync_record(*, name: str, outcome: str, detail: dict | None = None) -> None:
    """Record how a sync with Telnyx ended ("ok" or "failed"), keeping when it last succeeded."""
    now = timezone.now()
    previous = Heartbeat.objects.filter(kind=Heartbeat.Kind.SYNC, name=name).values_list("detail", flat=True).first()
    last_success = now.isoformat() if outcome == "ok" else (previous or {}).get("last_success_at")
    Heartbeat.objects.bulk_create(
        [Heartbeat(kind=Heartbeat.Kind.SYNC, name=name, seen_at=now,
                   detail={**(detail or {}), "outcome": outcome, "last_success_at": last_success})],
        update_conflicts=True, unique_fields=["kind", "name"], update_fields=["seen_at", "detail"],
    )
