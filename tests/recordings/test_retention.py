"""Deletion and retention: Telnyx deletes through the command bus, the audio goes, a tombstone stays."""
import json

import pytest
from django.utils import timezone

from portal.models import Command
from recordings.deletion import recordings_reconcile_gone
from recordings.models import Recording, Transcription
from recordings.tasks import apply_retention
from tests.recordings.conftest import AUDIO, stored_files
from tests.recordings.factories import RecordingFactory, TranscriptionFactory, stored_recording

pytestmark = pytest.mark.django_db


def deleted_at_telnyx(telnyx, recording_id):
    return telnyx.delete(f"/recordings/{recording_id}").respond(
        200, json={"data": {"id": recording_id, "record_type": "recording", "status": "deleted"}}
    )


def test_api_delete_calls_telnyx_and_leaves_a_tombstone(client, administrator, telnyx, recording_storage_dir,
                                                        django_capture_on_commit_callbacks):
    recording = stored_recording(AUDIO, recording_id="rec-del")
    TranscriptionFactory(recording=recording, text="secret words")
    route = deleted_at_telnyx(telnyx, "rec-del")
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/v1/recordings/rec-del/")
    assert response.status_code == 202
    assert response.json()["action"] == "recording.delete" and response.json()["target"] == "rec-del"
    assert route.call_count == 1 and route.calls.last.request.method == "DELETE"
    command = Command.objects.get()
    assert (command.status, command.door, command.requested_by) == ("succeeded", "api", administrator)
    recording.refresh_from_db()
    assert recording.status == Recording.Status.DELETED and recording.deleted_by == administrator
    assert recording.deleted_at is not None and "administrator" in recording.delete_reason
    assert recording.file.name == "" and recording.recording_urls == {}
    assert recording.sha256  # the tombstone keeps what was stored, for the audit
    assert stored_files(recording_storage_dir) == [] and Transcription.objects.count() == 0
    assert client.get("/recordings/rec-del/").status_code == 200


@pytest.mark.parametrize("user", ["viewer", "operator", "supervisor"])
def test_only_administrators_delete(client, request, telnyx, user):
    recording = stored_recording(AUDIO, recording_id="rec-keep")
    client.force_login(request.getfixturevalue(user))
    assert client.delete("/api/v1/recordings/rec-keep/").status_code == 403
    assert client.post("/recordings/delete/", {"pk": [recording.pk]}).status_code == 403
    assert client.post("/recordings/rec-keep/actions/delete/").status_code == 403
    assert Command.objects.count() == 0 and Recording.objects.get().status == Recording.Status.STORED


def test_page_bulk_delete_and_admin_delete_ask_then_issue(client, administrator, telnyx, django_capture_on_commit_callbacks):
    first = stored_recording(AUDIO, recording_id="rec-a")
    second = stored_recording(AUDIO, recording_id="rec-b")
    deleted_at_telnyx(telnyx, "rec-a")
    deleted_at_telnyx(telnyx, "rec-b")
    client.force_login(administrator)
    page = client.get("/recordings/").content.decode()
    assert "Delete selected" in page and "data-confirm-bulk" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/recordings/delete/", {"pk": [first.pk]})
    assert Recording.objects.get(pk=first.pk).status == Recording.Status.DELETED

    confirm = client.post("/admin/recordings/recording/", {"action": "delete_at_telnyx", "_selected_action": [second.pk]})
    assert "are you sure" in confirm.content.decode() and Command.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/recordings/recording/",
                    {"action": "delete_at_telnyx", "_selected_action": [second.pk], "confirmed": "yes"})
    assert Command.objects.filter(door="admin", target="rec-b", status="succeeded").exists()
    assert Recording.objects.get(pk=second.pk).status == Recording.Status.DELETED


def test_deleting_twice_or_a_provisional_recording_is_refused(client, administrator):
    RecordingFactory(recording_id="rec-gone", status=Recording.Status.DELETED)
    RecordingFactory(recording_id="evt-1", provisional_id=True)
    client.force_login(administrator)
    gone = client.delete("/api/v1/recordings/rec-gone/")
    assert gone.status_code == 400 and "already deleted" in str(gone.json()["extra"]["fields"])
    assert client.delete("/api/v1/recordings/evt-1/").status_code == 400
    assert Command.objects.count() == 0


def test_retention_deletes_only_what_is_older(settings, telnyx, recording_storage_dir, django_capture_on_commit_callbacks):
    settings.RECORDING_RETENTION_DAYS = 30
    now = timezone.now()
    old = stored_recording(AUDIO, recording_id="rec-old", started_at=now - timezone.timedelta(days=31))
    young = stored_recording(AUDIO, recording_id="rec-young", started_at=now - timezone.timedelta(days=29))
    route = deleted_at_telnyx(telnyx, "rec-old")
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_retention() == 1
    assert route.call_count == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.status == Recording.Status.DELETED and old.deleted_by is None
    assert old.delete_reason == "Retention policy (30 days)"
    assert young.status == Recording.Status.STORED
    assert [p.name for p in stored_files(recording_storage_dir)] == ["rec-young.mp3"]
    command = Command.objects.get()
    assert (command.action, command.door, command.requested_by) == ("recording.delete", "system", None)
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_retention() == 0  # the tombstone is not deleted again


def test_retention_is_off_by_default(telnyx):
    stored_recording(AUDIO, started_at=timezone.now() - timezone.timedelta(days=3650))
    assert apply_retention() == 0 and Command.objects.count() == 0


def test_a_delete_telnyx_no_longer_knows_is_finished_locally(client, administrator, telnyx,
                                                              django_capture_on_commit_callbacks):
    recording = stored_recording(AUDIO, recording_id="rec-404")
    telnyx.delete("/recordings/rec-404").respond(404, json={"errors": [{"title": "Resource not found"}]})
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        client.delete("/api/v1/recordings/rec-404/")
    assert Command.objects.get().status == "failed"
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.STORED
    with django_capture_on_commit_callbacks(execute=True):
        assert recordings_reconcile_gone() == 1
    recording.refresh_from_db()
    assert recording.status == Recording.Status.DELETED and "no longer had it" in recording.delete_reason


def _stored_event(event_type, event_id, **payload):
    from webhooks.models import WebhookEvent

    document = {"data": {"id": event_id, "event_type": event_type, "payload": payload}}
    return WebhookEvent.objects.create(
        event_id=event_id, event_type=event_type, raw_body=json.dumps(document), payload=payload,
        recording_id=payload.get("recording_id", ""), call_session_id=payload.get("call_session_id", ""),
        status="processed",
    )


@pytest.mark.parametrize("by_retention", [False, True])
def test_deletion_redacts_the_words_and_links_from_stored_events(by_retention, settings, client, administrator, telnyx,
                                                                 recording_storage_dir, django_capture_on_commit_callbacks):
    """Deleting a recording (by hand or by retention) leaves no transcript or link in the stored webhooks (issue 24)."""
    settings.RECORDING_RETENTION_DAYS = 30
    recording = stored_recording(AUDIO, recording_id="rec-words", call_session_id="sess-words",
                                 started_at=timezone.now() - timezone.timedelta(days=40))
    said = _stored_event("call.recording.transcription.saved", "ev-said", recording_id="rec-words",
                         call_session_id="sess-words", transcription_text="my PIN is 1234", status="completed")
    saved = _stored_event("call.recording.saved", "ev-saved", call_session_id="sess-words",
                          recording_urls={"mp3": "https://telnyx.example/rec-words.mp3?sig=x"})
    other = _stored_event("call.recording.transcription.saved", "ev-other", recording_id="rec-other",
                          call_session_id="sess-other", transcription_text="keep me")
    deleted_at_telnyx(telnyx, "rec-words")
    with django_capture_on_commit_callbacks(execute=True):
        if by_retention:
            assert apply_retention() == 1
        else:
            client.force_login(administrator)
            assert client.delete("/api/v1/recordings/rec-words/").status_code == 202
    for event in (said, saved, other):
        event.refresh_from_db()
    assert "1234" not in said.raw_body and "1234" not in json.dumps(said.payload)
    assert said.payload["transcription_text"] == "(redacted: recording deleted)"
    assert said.payload["status"] == "completed" and said.event_type == "call.recording.transcription.saved"
    assert "sig=x" not in saved.raw_body and "sig=x" not in json.dumps(saved.payload)
    assert other.payload["transcription_text"] == "keep me" and "keep me" in other.raw_body
    recording = Recording.objects.get(recording_id="rec-words")
    assert recording.status == Recording.Status.DELETED and recording.deleted_at is not None
    assert (recording.deleted_by is None) is by_retention
