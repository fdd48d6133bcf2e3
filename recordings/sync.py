"""Recordings and transcriptions from Telnyx's lists: every page, one page at a time, and the periodic catch-up."""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import gateway
from portal.sync import run_sync
from recordings import capture, deletion, live, naming
from recordings.models import Recording, Transcription
from webhooks.payloads import when

PAGE_SIZE = 250


SYNCED_FIELDS = [
    "call_control_id", "call_leg_id", "call_session_id", "conference_id", "connection_id", "channels", "started_at",
    "ended_at", "recorded_at", "duration_seconds", "source", "recording_urls", "urls_received_at",
]


@transaction.atomic
def recordings_sync_page(*, telnyx_recordings: list[dict]) -> dict:
    """Upsert one page of Telnyx's recordings in a constant number of queries; new ones are captured."""
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
        naming.fill_blanks(recording, call_control_id=data.get("call_control_id"), call_leg_id=data.get("call_leg_id"),
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
        capture.queue_downloads_on_commit(
            list(Recording.objects.filter(recording_id__in=[r.recording_id for r in created]).values_list("pk", flat=True))
        )
        live.publish_recordings_list()
    elif updated:
        live.publish_recordings_list()
    return {"created": len(created), "updated": len(updated)}


@transaction.atomic
def transcriptions_sync_page(*, telnyx_transcriptions: list[dict]) -> dict:
    """Upsert one page of Telnyx's recording transcriptions (recordings not seen yet get a row and a capture)."""
    items = [t for t in telnyx_transcriptions if t.get("id") and t.get("recording_id")]
    recording_ids = {t["recording_id"] for t in items}
    recordings = {r.recording_id: r for r in Recording.objects.filter(recording_id__in=recording_ids)}
    missing = [Recording(recording_id=rid) for rid in recording_ids if rid not in recordings]
    for recording in missing:
        recording.derive()
    Recording.objects.bulk_create(missing)
    if missing:
        recordings.update({r.recording_id: r for r in Recording.objects.filter(recording_id__in=[m.recording_id for m in missing])})
        capture.queue_downloads_on_commit([recordings[recording.recording_id].pk for recording in missing])
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
        live.publish_recordings_list()
    return {"created": len(created), "updated": len(updated)}


def sync_recordings(*, since=None) -> dict:
    """Every recording Telnyx lists (created since `since` if given); new ones are captured."""
    params = {"page_size": PAGE_SIZE}
    if since is not None:
        params["filter"] = {"created_at": {"gte": since.isoformat()}}
    counts = {"created": 0, "updated": 0}
    for page in gateway.pages("client.recordings.list", **params):
        for key, value in recordings_sync_page(telnyx_recordings=page).items():
            counts[key] += value
    return counts


def sync_transcriptions(*, since=None) -> dict:
    """Every recording transcription Telnyx lists, attached to its recording."""
    params = {"page_size": PAGE_SIZE}
    if since is not None:
        params["filter"] = {"created_at": {"gte": since.isoformat()}}
    counts = {"created": 0, "updated": 0}
    for page in gateway.pages("client.recording_transcriptions.list", **params):
        for key, value in transcriptions_sync_page(telnyx_transcriptions=page).items():
            counts[key] += value
    return counts


def catch_up() -> dict:
    """The periodic catch-up: the last RECORDING_CATCHUP_LOOKBACK_HOURS of both lists (each recorded as its
    own sync), then deletions Telnyx already forgot, then every capture not done yet."""
    since = timezone.now() - timedelta(hours=settings.RECORDING_CATCHUP_LOOKBACK_HOURS)
    counts = {}
    for name, sync in (("recordings", sync_recordings), ("transcriptions", sync_transcriptions)):
        run = run_sync(name, lambda sync=sync: sync(since=since))
        if run.ok:
            counts[f"{name}_created"] = run.counts["created"]
    counts["gone"] = deletion.recordings_reconcile_gone()
    counts["queued"] = capture.recordings_catch_up()
    return counts


SYNCS = {"recordings": sync_recordings, "transcriptions": sync_transcriptions}
