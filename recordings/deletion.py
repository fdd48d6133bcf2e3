"""Deleting recordings: asked of Telnyx through the command bus, then a tombstone row; retention does the same."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.commands import services as commands
from portal.models import Command
from recordings.live import publish_recording
from recordings.models import Recording
from recordings.storage import recording_storage
from webhooks.redaction import events_redact_recording

log = logging.getLogger(__name__)
DELETE = "recordings.delete_recording"


def recordings_delete_request(*, recordings, user, door: str) -> tuple[list, list[str]]:
    """Ask Telnyx to delete each recording through the command bus; (commands, reasons some were skipped)."""
    if user is not None and not user.has_perm(DELETE):
        raise PermissionDenied("You do not have permission to delete recordings.")
    issued, skipped = [], []
    for recording in recordings:
        if not recording.can_be_deleted:
            skipped.append(f"{recording}: {why_not_deletable(recording)}")
            continue
        issued.append(commands.command_issue(
            action_name="recording.delete", target=recording.recording_id, params={}, user=user, door=door
        ))
        Recording.objects.filter(pk=recording.pk).update(delete_requested_at=timezone.now())
    return issued, skipped


def why_not_deletable(recording: Recording) -> str:
    if recording.status == Recording.Status.DELETED:
        return "already deleted"
    if recording.telnyx_error:
        return "Telnyx never saved it"
    return "Telnyx has not named it yet (wait for the next sync)"


def recording_tombstone(*, recording_id: str, user=None, reason: str = "") -> Recording | None:
    """Telnyx deleted it: remove the stored audio and transcripts, keep the row with who and when."""
    recording = Recording.objects.select_for_update().filter(recording_id=recording_id).first()
    if recording is None or recording.status == Recording.Status.DELETED:
        return recording
    name = recording.file.name if recording.file else ""
    recording.status = Recording.Status.DELETED
    recording.deleted_at = timezone.now()
    recording.deleted_by = user
    recording.delete_reason = reason[:255]
    recording.file = ""
    recording.recording_urls, recording.public_recording_urls = {}, {}
    recording.save()
    recording.transcriptions.all().delete()
    # The stored webhooks that carried its words and links lose them too; the row keeps who and when.
    redacted = events_redact_recording(recording_id=recording.recording_id, call_session_id=recording.call_session_id)
    audit_record(
        kind=AuditEntry.Kind.RECORDING_DELETED, user=user, target=recording.recording_id,
        summary=f"Recording {recording.recording_id} deleted: {recording.delete_reason or 'at Telnyx'}",
        detail={"recording": recording.pk, "reason": recording.delete_reason, "events_redacted": redacted},
    )
    if name:
        # After commit: a rolled-back tombstone must not have lost the audio.
        transaction.on_commit(lambda: _delete_file(name))
    publish_recording(recording)
    return recording


def _delete_file(name: str) -> None:
    try:
        recording_storage.delete(name)
    except OSError:
        log.warning("could not delete stored recording %s", name, exc_info=True)


def delete_reason(command) -> str:
    """How a deletion is remembered: by whom and through which door, or by the retention policy."""
    if command.door == command.Door.SYSTEM and command.requested_by_id is None:
        return f"Retention policy ({settings.RECORDING_RETENTION_DAYS} days)"
    who = command.requested_by.get_username() if command.requested_by_id else "system"
    return f"Deleted by {who} ({command.get_door_display()})"


def recordings_reconcile_gone() -> int:
    """Deletions Telnyx answered 404 to (already gone there, e.g. a retried delete): finish them locally."""
    failed = Command.objects.filter(action="recording.delete", status=Command.Status.FAILED, error_status=404)
    targets = Recording.objects.filter(
        recording_id__in=failed.values("target"), provisional_id=False, delete_requested_at__isnull=False
    ).exclude(status=Recording.Status.DELETED)
    count = 0
    for recording in targets:
        command = failed.filter(target=recording.recording_id).select_related("requested_by").first()
        with transaction.atomic():
            recording_tombstone(recording_id=recording.recording_id, user=command.requested_by,
                                reason=delete_reason(command) + "; Telnyx no longer had it")
        count += 1
    return count


def recordings_apply_retention(*, now: datetime | None = None) -> int:
    """Delete, through the same command path, every recording older than RECORDING_RETENTION_DAYS (0 = keep)."""
    days = settings.RECORDING_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    pending = Command.objects.filter(
        action="recording.delete", status__in=[Command.Status.QUEUED, Command.Status.RUNNING]
    ).values("target")
    expired = (
        Recording.objects.annotate(at=Coalesce("started_at", "recorded_at"))
        .filter(at__lt=cutoff, provisional_id=False, telnyx_error="")
        .exclude(status=Recording.Status.DELETED)
        .exclude(recording_id__in=pending)
    )
    issued, _ = recordings_delete_request(recordings=list(expired[:1000]), user=None, door=Command.Door.SYSTEM)
    return len(issued)
