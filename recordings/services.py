"""Every write to recordings: rows from webhooks and sync, capture of the audio, access log, deletion, retention."""
from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from portal import gateway, live
from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.commands import actions
from recordings import download
from recordings.models import AccessAction, Recording, Transcription
from recordings.storage import recording_storage
from webhooks.redaction import events_redact_recording

log = logging.getLogger(__name__)

LISTEN = "recordings.listen_recording"
DELETE = "recordings.delete_recording"
# Telnyx's links live 10 minutes; past this age the portal asks for fresh ones before trying.
LINK_TTL = timedelta(minutes=9)
# A download claimed longer ago than this is taken to have died with its worker.
STUCK_AFTER = timedelta(minutes=15)
# A recording that exhausted its attempts gets a new series this long after its last one.
RETRY_FAILED_AFTER = timedelta(hours=1)


# --- rows from webhooks ------------------------------------------------------------------------------

def recording_save(
    *, recording_id: str, call_control_id: str = "", call_session_id: str = "", conference_id: str = "",
    format: str = "", channels: str = "", started_at: datetime | None = None, ended_at: datetime | None = None,
    recording_urls: dict | None = None, public_recording_urls: dict | None = None, call_leg_id: str = "",
    connection_id: str = "", provisional_id: bool = False,
) -> Recording:
    """*.recording.saved: create or complete the row, keep the fresh links and capture the audio at once."""
    recording = Recording.objects.filter(recording_id=recording_id).first()
    if recording is None and provisional_id:
        # The transcription or a sync may have named it already: same session, same start.
        recording = _find_named(call_session_id, call_leg_id, call_control_id, started_at)
    created = recording is None
    if created:
        recording = Recording(recording_id=recording_id, provisional_id=provisional_id)
    call_control_id = call_control_id or _call_control_id_of_leg(call_leg_id)
    _fill(recording, call_control_id=call_control_id, call_session_id=call_session_id, conference_id=conference_id,
          format=format, channels=channels, started_at=started_at, ended_at=ended_at, call_leg_id=call_leg_id,
          connection_id=connection_id)
    if recording_urls and recording.status != Recording.Status.DELETED:
        recording.recording_urls = recording_urls
        recording.public_recording_urls = public_recording_urls or recording.public_recording_urls
        recording.urls_received_at = timezone.now()
    recording.save()
    if recording.status in (Recording.Status.SAVED, Recording.Status.FAILED) and not recording.telnyx_error:
        queue_download_on_commit(recording.pk)
    publish_recording(recording, new=created)
    return recording


def recording_error(*, event_id: str, call_control_id: str = "", call_session_id: str = "", call_leg_id: str = "",
                    reason: str = "", occurred_at: datetime | None = None) -> Recording:
    """call.recording.error: the recording attempt failed at Telnyx; listed as failed with Telnyx's reason."""
    recording, created = Recording.objects.get_or_create(
        recording_id=event_id,
        defaults={
            "call_control_id": call_control_id, "call_session_id": call_session_id, "call_leg_id": call_leg_id,
            "status": Recording.Status.FAILED, "telnyx_error": (reason or "unknown")[:255],
            "last_error": f"Telnyx could not record: {reason or 'no reason given'}.",
            "recorded_at": occurred_at or timezone.now(),
        },
    )
    publish_recording(recording, new=created)
    return recording


def transcription_save(
    *, transcription_id: str, recording_id: str, text: str = "", status: str = "", call_control_id: str = "",
    call_session_id: str = "", language: str = "", speakers: list | None = None, segments: list | None = None,
    duration_millis: int | None = None, created_at: datetime | None = None, updated_at: datetime | None = None,
) -> Transcription:
    """A transcript from Telnyx, attached to its recording (a row is made for a recording not seen yet)."""
    recording = _recording_for_transcript(recording_id, call_session_id, call_control_id)
    transcription = Transcription.objects.filter(transcription_id=transcription_id).first() or Transcription(
        transcription_id=transcription_id
    )
    if transcription.updated_at and updated_at and updated_at < transcription.updated_at:
        return transcription  # an older copy of a transcript already applied
    transcription.recording = recording
    values = {
        "text": text, "status": status, "call_control_id": call_control_id, "call_session_id": call_session_id,
        "language": language, "speakers": speakers, "segments": segments, "duration_millis": duration_millis,
        "created_at": created_at, "updated_at": updated_at,
    }
    for name, value in values.items():
        if value not in (None, "", []):
            setattr(transcription, name, value)
    transcription.save()
    publish_recording(recording)
    return transcription


def _recording_for_transcript(recording_id: str, call_session_id: str, call_control_id: str) -> Recording:
    recording = Recording.objects.filter(recording_id=recording_id).first()
    if recording is not None:
        return recording
    provisional = (
        Recording.objects.filter(provisional_id=True, telnyx_error="")
        .filter(Q(call_session_id=call_session_id) if call_session_id else Q(call_control_id=call_control_id))
        .exclude(call_session_id="", call_control_id="")
        .order_by("-recorded_at")
        .first()
    )
    if provisional is not None:
        return _adopt(provisional, {"id": recording_id})
    recording = Recording.objects.create(
        recording_id=recording_id, call_control_id=call_control_id, call_session_id=call_session_id
    )
    queue_download_on_commit(recording.pk)  # the download asks Telnyx for its links
    publish_recording(recording, new=True)
    return recording


def _call_control_id_of_leg(call_leg_id: str) -> str:
    """call.recording.saved names the leg, not the call_control_id: find it from the call the portal knows."""
    if not call_leg_id:
        return ""
    from calls.models import Call

    return Call.objects.filter(call_leg_id=call_leg_id).values_list("call_control_id", flat=True).first() or ""


def _fill(recording: Recording, **facts) -> None:
    for name, value in facts.items():
        if value not in (None, "") and not getattr(recording, name):
            setattr(recording, name, value)


def _find_named(call_session_id: str, call_leg_id: str, call_control_id: str, started_at: datetime | None):
    """A row already carrying Telnyx's id for the recording a provisional event describes."""
    if not started_at or not (call_session_id or call_leg_id or call_control_id):
        return None
    same_call = Q()
    for name, value in (("call_session_id", call_session_id), ("call_leg_id", call_leg_id), ("call_control_id", call_control_id)):
        if value:
            same_call |= Q(**{name: value})
    window = timedelta(seconds=2)
    return (
        Recording.objects.filter(same_call, provisional_id=False, started_at__range=(started_at - window, started_at + window))
        .first()
    )


# --- capture -------------------------------------------------------------------------------------------

@dataclass
class DownloadOutcome:
    """What one download attempt led to, and the delay before the next attempt if one is due."""

    recording: Recording | None
    retry_in: float | None = None


def queue_download_on_commit(recording_pk: int) -> None:
    if settings.RECORDING_CAPTURE:
        transaction.on_commit(lambda: queue_download(recording_pk))


def queue_download(recording_pk: int, countdown: float | None = None) -> None:
    """Hand a download to a worker; if the broker is down the periodic catch-up finds it later."""
    from recordings.tasks import download_recording

    try:
        download_recording.apply_async((recording_pk,), countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure; the row stays saved and is caught up
        log.warning("could not queue the download of recording %s", recording_pk, exc_info=True)


# Captures queued together (a sync page, the catch-up) leave as one task per this many recordings:
# one message per recording made a 100,000-recording sync spend most of its time publishing (issue 13).
DOWNLOAD_BATCH = 50


def queue_downloads_on_commit(recording_pks: list[int]) -> None:
    """After commit, hand many captures to workers, DOWNLOAD_BATCH recordings per task."""
    if settings.RECORDING_CAPTURE and recording_pks:
        transaction.on_commit(lambda: queue_downloads(recording_pks))


def queue_downloads(recording_pks: list[int]) -> None:
    """Hand many captures to workers in batches; each recording still retries on its own."""
    from recordings.tasks import download_recordings

    for start in range(0, len(recording_pks), DOWNLOAD_BATCH):
        chunk = list(recording_pks[start:start + DOWNLOAD_BATCH])
        try:
            download_recordings.apply_async((chunk,))
        except Exception:  # noqa: BLE001 - any broker failure; the rows stay saved and are caught up
            log.warning("could not queue the download of %s recordings", len(chunk), exc_info=True)


def download_backoff(attempts: int) -> float:
    """15 s, 30 s, 1 min... up to 15 min, with jitter (Telnyx's file servers are rarely down for long)."""
    base = min(900.0, 15.0 * 2 ** max(0, attempts - 1))
    return base + random.uniform(0, base / 4)


def recording_download(*, recording_pk: int) -> DownloadOutcome:
    """One attempt to capture a recording's audio into storage; records size, SHA-256 and any error."""
    now = timezone.now()
    claimable = Q(status__in=[Recording.Status.SAVED, Recording.Status.FAILED], telnyx_error="") | Q(
        status=Recording.Status.DOWNLOADING, last_attempt_at__lt=now - STUCK_AFTER
    )
    claimed = Recording.objects.filter(claimable, pk=recording_pk).update(
        status=Recording.Status.DOWNLOADING, download_attempts=F("download_attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return DownloadOutcome(None)  # stored, deleted, or another worker holds it
    recording = Recording.objects.get(pk=recording_pk)
    publish_recording(recording)
    fetched = None
    try:
        if recording.provisional_id:
            recording = _resolve_provisional(recording)
            if recording is None:
                return DownloadOutcome(None)
        fetched = _fetch(recording)
        return DownloadOutcome(_store(recording, fetched))
    except (download.DownloadError, gateway.GatewayError) as error:
        return _download_failed(recording, str(error))
    except Exception as error:  # noqa: BLE001 - never leave a row downloading because of a surprise
        log.exception("download of recording %s failed unexpectedly", recording.pk)
        return _download_failed(recording, f"Unexpected error: {error.__class__.__name__}: {error}")
    finally:
        if fetched is not None:
            fetched.file.close()


def _fetch(recording: Recording) -> download.Fetched:
    """The webhook's link while it is fresh and nothing failed yet; else (or if refused) a fresh one from the API."""
    fresh = recording.urls_received_at and timezone.now() - recording.urls_received_at < LINK_TTL
    if fresh and recording.download_attempts <= 1:
        fmt, url = download.pick_link(recording.recording_urls, recording.format)
        if url:
            try:
                return download.fetch(url, fmt)
            except download.DownloadError as error:
                if not error.link_expired:
                    raise
    fmt, url = _fresh_link(recording)
    return download.fetch(url, fmt)


def _fresh_link(recording: Recording) -> tuple[str, str]:
    """Ask Telnyx's recordings API for new download links (they too expire) and keep them on the row."""
    if recording.provisional_id:
        raise download.DownloadError("Telnyx has not listed this recording yet, so no fresh link can be asked for.")
    data = (gateway.call("client.recordings.retrieve", recording_id=recording.recording_id) or {}).get("data") or {}
    urls = data.get("download_urls") or {}
    fmt, url = download.pick_link(urls, recording.format)
    if not url:
        raise download.DownloadError("Telnyx's recordings API gave no download link for this recording.")
    Recording.objects.filter(pk=recording.pk).update(recording_urls=urls, urls_received_at=timezone.now())
    recording.recording_urls = urls
    return fmt, url


def _resolve_provisional(recording: Recording) -> Recording | None:
    """Find Telnyx's id for a call recording announced without one: same call, same start time."""
    filters = {}
    for name in ("call_session_id", "call_leg_id", "call_control_id"):
        if getattr(recording, name):
            filters = {name: getattr(recording, name)}
            break
    if not filters:
        return recording
    try:
        candidates = [c for c in gateway.iterate("client.recordings.list", filter=filters, page_size=50) if c.get("id")]
    except gateway.GatewayError as error:
        # Naming can wait for the next sync; the audio cannot wait past its link's 10 minutes.
        log.warning("could not name recording %s through Telnyx's list: %s", recording.pk, error)
        return recording
    from webhooks.payloads import when

    match = None
    for candidate in candidates:
        started = when(candidate.get("recording_started_at"))
        if recording.started_at and started and abs((started - recording.started_at).total_seconds()) <= 2:
            match = candidate
            break
    if match is None and len(candidates) == 1:
        match = candidates[0]
    if match is None:
        return recording  # keep the webhook's link; a later sync may name it
    return _adopt(recording, match, downloading=True)


def _adopt(provisional: Recording, data: dict, *, downloading: bool = False) -> Recording | None:
    """Give a provisional row Telnyx's id, or fold it into the row that already has that id."""
    with transaction.atomic():
        existing = Recording.objects.select_for_update().filter(recording_id=data["id"]).first()
        if existing is None:
            provisional.recording_id = data["id"]
            provisional.provisional_id = False
            provisional.save(update_fields=["recording_id", "provisional_id"])
            return provisional
        _fill(existing, **{f: getattr(provisional, f) for f in (
            "call_control_id", "call_leg_id", "call_session_id", "conference_id", "connection_id", "format", "channels",
            "started_at", "ended_at",
        )})
        if provisional.recording_urls and not existing.is_playable:
            existing.recording_urls = provisional.recording_urls
            existing.public_recording_urls = provisional.public_recording_urls
            existing.urls_received_at = provisional.urls_received_at
        provisional.transcriptions.update(recording=existing)
        take_over = downloading and existing.status in (Recording.Status.SAVED, Recording.Status.FAILED)
        if take_over:
            existing.status = Recording.Status.DOWNLOADING
            existing.download_attempts = max(existing.download_attempts, provisional.download_attempts)
            existing.last_attempt_at = provisional.last_attempt_at
        existing.save()
        provisional.delete()
    publish_recording(existing)
    if downloading and not take_over:
        return None  # the named row is stored, being downloaded, or deleted already
    return existing


def _file_name(recording: Recording, fmt: str) -> str:
    day = (recording.recorded_at or timezone.now()).strftime("%Y/%m/%d")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", recording.recording_id)[:150]
    return f"{day}/{safe}.{fmt or 'audio'}"


def _store(recording: Recording, fetched: download.Fetched) -> Recording:
    fmt = {"audio/mpeg": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav"}.get(
        fetched.content_type, recording.format or "audio"
    )
    name = recording_storage.save(_file_name(recording, fmt), File(fetched.file))
    kept = recording_storage.size(name)
    if kept != fetched.size:
        # A storage that wrote part of the file without raising: never point the row at a short copy.
        recording_storage.delete(name)
        raise download.DownloadError(f"Storage kept {kept} of {fetched.size} bytes; the copy was discarded.")
    old = recording.file.name if recording.file else ""
    with transaction.atomic():
        updated = Recording.objects.filter(pk=recording.pk, status=Recording.Status.DOWNLOADING).update(
            file=name, size_bytes=fetched.size, sha256=fetched.sha256, content_type=fetched.content_type,
            status=Recording.Status.STORED, stored_at=timezone.now(), last_error="",
        )
    if not updated:
        recording_storage.delete(name)  # deleted (or taken over) while downloading: keep nothing
        return Recording.objects.filter(pk=recording.pk).first()
    if old and old != name:
        recording_storage.delete(old)
    recording.refresh_from_db()
    publish_recording(recording)
    return recording


def _download_failed(recording: Recording, message: str) -> DownloadOutcome:
    Recording.objects.filter(pk=recording.pk, status=Recording.Status.DOWNLOADING).update(
        status=Recording.Status.FAILED, last_error=message[:4000]
    )
    recording.refresh_from_db()
    publish_recording(recording)
    if recording.status != Recording.Status.FAILED or recording.download_attempts >= settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS:
        return DownloadOutcome(recording)
    return DownloadOutcome(recording, download_backoff(recording.download_attempts))


def recordings_redownload(*, queryset, user) -> int:
    """Capture the selected recordings again (stored ones are replaced by a fresh copy); returns how many."""
    ensure_can_listen(user)
    count = 0
    for recording in queryset.exclude(status__in=[Recording.Status.DELETED, Recording.Status.DOWNLOADING]).filter(telnyx_error=""):
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.SAVED, download_attempts=0, last_error="")
        recording.status = Recording.Status.SAVED
        transaction.on_commit(lambda pk=recording.pk: queue_download(pk))
        publish_recording(recording)
        count += 1
    return count


def recordings_catch_up() -> int:
    """Queue a download for every recording not stored yet (never queued, stuck, or failed an hour ago)."""
    if not settings.RECORDING_CAPTURE:
        return 0
    now = timezone.now()
    due = Recording.objects.filter(telnyx_error="").filter(
        Q(status=Recording.Status.SAVED, saved_at__lt=now - timedelta(minutes=1))
        | Q(status=Recording.Status.DOWNLOADING, last_attempt_at__lt=now - STUCK_AFTER)
        | Q(status=Recording.Status.FAILED, download_attempts__gte=settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS,
            last_attempt_at__lt=now - RETRY_FAILED_AFTER)
    )
    pks = list(due.values_list("pk", flat=True)[:500])
    # A new series of attempts for those that ran out, so the task's backoff starts over.
    Recording.objects.filter(pk__in=pks, status=Recording.Status.FAILED).update(download_attempts=0)
    queue_downloads(pks)
    return len(pks)


# --- sync ---------------------------------------------------------------------------------------------

SYNCED_FIELDS = [
    "call_control_id", "call_leg_id", "call_session_id", "conference_id", "connection_id", "channels", "started_at",
    "ended_at", "recorded_at", "duration_seconds", "source", "recording_urls", "urls_received_at",
]


@transaction.atomic
def recordings_sync_page(*, telnyx_recordings: list[dict]) -> dict:
    """Upsert one page of Telnyx's recordings in a constant number of queries; new ones are captured."""
    from webhooks.payloads import when

    now = timezone.now()
    items = [r for r in telnyx_recordings if r.get("id")]
    ids = [r["id"] for r in items]
    existing = {r.recording_id: r for r in Recording.objects.filter(recording_id__in=ids)}
    sessions = {r.get("call_session_id") for r in items if r.get("id") not in existing and r.get("call_session_id")}
    provisional = list(Recording.objects.filter(provisional_id=True, telnyx_error="", call_session_id__in=sessions))
    created, updated = [], []
    for data in items:
        recording = existing.get(data["id"])
        if recording is None:
            started = when(data.get("recording_started_at"))
            recording = next(
                (p for p in provisional if p.call_session_id == data.get("call_session_id") and p.started_at and started
                 and abs((p.started_at - started).total_seconds()) <= 2), None,
            )
            if recording is not None:
                provisional.remove(recording)
                recording.recording_id, recording.provisional_id = data["id"], False
                Recording.objects.filter(pk=recording.pk).update(recording_id=data["id"], provisional_id=False)
        if recording is not None and recording.status == Recording.Status.DELETED:
            continue  # a tombstone stays a tombstone
        is_new = recording is None
        recording = recording or Recording(recording_id=data["id"], saved_at=now)
        _fill(recording, call_control_id=data.get("call_control_id"), call_leg_id=data.get("call_leg_id"),
              call_session_id=data.get("call_session_id"), conference_id=data.get("conference_id"),
              connection_id=data.get("connection_id"), channels=data.get("channels"),
              started_at=when(data.get("recording_started_at")), ended_at=when(data.get("recording_ended_at")))
        if isinstance(data.get("duration_millis"), int):
            recording.duration_seconds = data["duration_millis"] // 1000
        if data.get("download_urls") and not recording.is_playable:
            recording.recording_urls = data["download_urls"]
            recording.urls_received_at = now
        if is_new and not recording.started_at:
            recording.recorded_at = when(data.get("created_at")) or now
        recording.derive()
        (created if is_new else updated).append(recording)
    Recording.objects.bulk_create(created)
    Recording.objects.bulk_update(updated, SYNCED_FIELDS)
    if created:
        queue_downloads_on_commit(
            list(Recording.objects.filter(recording_id__in=[r.recording_id for r in created]).values_list("pk", flat=True))
        )
        publish_recordings_list()
    elif updated:
        publish_recordings_list()
    return {"created": len(created), "updated": len(updated)}


@transaction.atomic
def transcriptions_sync_page(*, telnyx_transcriptions: list[dict]) -> dict:
    """Upsert one page of Telnyx's recording transcriptions (recordings not seen yet get a row and a capture)."""
    from webhooks.payloads import when

    items = [t for t in telnyx_transcriptions if t.get("id") and t.get("recording_id")]
    recording_ids = {t["recording_id"] for t in items}
    recordings = {r.recording_id: r for r in Recording.objects.filter(recording_id__in=recording_ids)}
    missing = [Recording(recording_id=rid) for rid in recording_ids if rid not in recordings]
    for recording in missing:
        recording.derive()
    Recording.objects.bulk_create(missing)
    if missing:
        recordings.update({r.recording_id: r for r in Recording.objects.filter(recording_id__in=[m.recording_id for m in missing])})
        queue_downloads_on_commit([recordings[recording.recording_id].pk for recording in missing])
    existing = {t.transcription_id: t for t in Transcription.objects.filter(transcription_id__in=[t["id"] for t in items])}
    created, updated = [], []
    for data in items:
        transcription = existing.get(data["id"]) or Transcription(transcription_id=data["id"])
        transcription.recording = recordings[data["recording_id"]]
        transcription.status = data.get("status") or transcription.status
        transcription.text = data.get("transcription_text") or transcription.text
        if isinstance(data.get("duration_millis"), int):
            transcription.duration_millis = data["duration_millis"]
        transcription.created_at = when(data.get("created_at")) or transcription.created_at
        transcription.updated_at = when(data.get("updated_at")) or transcription.updated_at
        (updated if transcription.pk else created).append(transcription)
    Transcription.objects.bulk_create(created)
    Transcription.objects.bulk_update(
        updated, ["recording", "status", "text", "duration_millis", "created_at", "updated_at"]
    )
    if created or updated or missing:
        publish_recordings_list()
    return {"created": len(created), "updated": len(updated)}


# --- playback and download ------------------------------------------------------------------------------

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


# --- deletion and retention ---------------------------------------------------------------------------------

def recordings_delete_request(*, recordings, user, door: str) -> tuple[list, list[str]]:
    """Ask Telnyx to delete each recording through the command bus; (commands, reasons some were skipped)."""
    from portal.commands import services as commands

    if user is not None and not user.has_perm(DELETE):
        raise PermissionDenied("You do not have permission to delete recordings.")
    issued, skipped = [], []
    for recording in recordings:
        if not recording.can_be_deleted:
            skipped.append(f"{recording}: {_why_not_deletable(recording)}")
            continue
        issued.append(commands.command_issue(
            action_name="recording.delete", target=recording.recording_id, params={}, user=user, door=door
        ))
        Recording.objects.filter(pk=recording.pk).update(delete_requested_at=timezone.now())
    return issued, skipped


def _why_not_deletable(recording: Recording) -> str:
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
    from portal.models import Command

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
    from portal.models import Command

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


# --- live ------------------------------------------------------------------------------------------------

def recording_group(recording: Recording) -> str:
    return f"recording.{recording.pk}"


def publish_recording(recording: Recording, *, new: bool = False, list_too: bool = True) -> None:
    """After commit: the row on open recordings lists, the recording's page, its conference, admin, dashboard."""
    pk = recording.pk

    def build():
        from recordings.selectors import recording_queryset

        fresh = recording_queryset().filter(pk=pk).first()
        if fresh is None:
            return []
        pieces = []
        if list_too:
            row = render_to_string("recordings/_recording_row.html", {"r": fresh, "oob": True, "new": new})
            pieces.append(("recordings", row))
        trigger = render_to_string("recordings/_refresh.html", {"recording": fresh})
        pieces.append((recording_group(fresh), trigger))
        return pieces

    groups = [f"recording.{pk}", *(["recordings"] if list_too else [])]
    live.publish_rendered_once(f"recording:{pk}:{int(new)}:{int(list_too)}", build, groups=groups)
    if list_too:
        live.publish_admin_changed("recordings", "recording")
        live.publish_dashboard()
        if recording.conference_id:
            _publish_conference(recording.conference_id)
        if recording.call_control_id:
            _publish_call(recording.call_control_id)


def _publish_conference(conference_id: str) -> None:
    """The conference page lists its recordings: let it re-render (the conferencing app owns the page)."""
    try:
        from conferencing import services as conferencing
        from conferencing.models import Conference
    except ImportError:  # pragma: no cover - the app is always installed here
        return
    publish = getattr(conferencing, "publish_conference", None)
    conference = Conference.objects.filter(conference_id=conference_id).first()
    if publish and conference is not None:
        publish(conference)


def _publish_call(call_control_id: str) -> None:
    """The call's page lists its recordings: ask it to re-fetch that section (issue 31), through the call kind."""
    kind = actions.kind("call")
    group = kind.live_group(call_control_id) if kind else None
    if group:
        live.publish_on_commit(group, '<div data-refresh="call-recordings" hidden></div>')


def publish_recordings_list() -> None:
    """After a sync page: the whole table once (rows may be new anywhere in the order)."""

    def build():
        from recordings.selectors import recording_list

        html = render_to_string("recordings/_recording_rows.html", {"recordings": recording_list(), "oob": True})
        return [("recordings", html)]

    live.publish_rendered_once("recordings-list", build, groups=["recordings"])
    live.publish_admin_changed("recordings", "recording")
    live.publish_dashboard()


def storage_path_exists(name: str) -> bool:
    """Whether the stored file is still there (the recording page warns if it vanished)."""
    try:
        return bool(name) and recording_storage.exists(name)
    except OSError:
        return False

