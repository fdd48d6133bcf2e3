"""Who may listen to and download recordings, and the audit log of every play and download."""
from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from recordings.live import publish_recording
from recordings.models import AccessAction, Recording
from recordings.storage import recording_storage

LISTEN = "recordings.listen_recording"


def ensure_can_listen(user) -> None:
    """The one check for playing and downloading audio, whichever door asks."""
    if user is None or not user.is_authenticated or not user.has_perm(LISTEN):
        raise PermissionDenied("You do not have permission to listen to or download recordings.")


ACCESS_KINDS = {
    AccessAction.PLAY: AuditEntry.Kind.RECORDING_PLAYED,
    AccessAction.DOWNLOAD: AuditEntry.Kind.RECORDING_DOWNLOADED,
    AccessAction.ZIP: AuditEntry.Kind.RECORDING_DOWNLOADED,
}


def recording_access_log(*, recording: Recording, user, action: str, door: str) -> AuditEntry | None:
    """Record one play or download in the audit trail, the one log of who heard what (issue 24).

    Repeated plays of the same recording within a minute are one play.
    """
    ensure_can_listen(user)
    kind = ACCESS_KINDS[AccessAction(action)]
    if action == AccessAction.PLAY and AuditEntry.objects.filter(
        kind=kind, target=recording.recording_id, actor_id=user.pk, at__gte=timezone.now() - timedelta(minutes=1)
    ).exists():
        return None  # the player's seeks and re-buffering are not new listens
    entry = audit_record(
        kind=kind, user=user, door=door, target=recording.recording_id,
        summary=f"{AccessAction(action).label}: recording {recording.recording_id}",
        detail={"recording": recording.pk, "how": str(action)},
    )
    publish_recording(recording, list_too=False)
    return entry


def recording_open_audio(*, recording: Recording, user):
    """The stored audio as an open file, for a listener; raises PermissionDenied or FileNotFoundError."""
    ensure_can_listen(user)
    if not recording.is_playable:
        raise FileNotFoundError("This recording's audio is not stored (yet).")
    return recording_storage.open(recording.file.name, "rb")


def storage_path_exists(name: str) -> bool:
    """Whether the stored file is still there (the recording page warns if it vanished)."""
    try:
        return bool(name) and recording_storage.exists(name)
    except OSError:
        return False
