"""Capture: each saved recording is downloaded (fresh links when needed), verified, hashed and stored."""
import hashlib

import httpx
import pytest
from django.utils import timezone

from conferencing import handlers as conferencing_handlers
from conferencing.models import Conference
from recordings import handlers as recordings_handlers
from recordings.capture import recordings_catch_up
from recordings.models import Recording, Transcription
from recordings.tasks import catch_up_recordings, download_recording
from tests.recordings.conftest import AUDIO, AUDIO_SHA256, FILES, stored_files
from tests.recordings.factories import RecordingFactory
from webhooks.registry import handlers_for

pytestmark = pytest.mark.django_db


def api_recording(id, **extra):
    return {"id": id, "record_type": "recording", "status": "completed", "channels": "single", "source": "call",
            "call_session_id": "session-1", "call_leg_id": "leg-alice", "recording_started_at": "2026-11-23T08:58:00Z",
            "recording_ended_at": "2026-11-23T09:00:00Z", "created_at": "2026-11-23T09:00:01Z",
            "duration_millis": 120000, "download_urls": {"mp3": f"{FILES}/{id}-fresh.mp3"}, **extra}


def page(items, number=1, total=1):
    return {"data": items, "meta": {"page_number": number, "total_pages": total, "page_size": 250, "total_results": len(items)}}


def test_call_recording_saved_is_named_downloaded_hashed_and_stored(post_webhook, event_doc, telnyx, listen,
                                                                     recording_storage_dir):
    listen("recordings")
    media = telnyx.get(f"{FILES}/call.mp3").respond(200, content=AUDIO, headers={"content-type": "audio/mpeg"})
    # call.recording.saved carries no recording_id: Telnyx's list, filtered by the call session, names it.
    listing = telnyx.get("/recordings").respond(200, json=page([api_recording("rec-call-1")]))

    post_webhook(event_doc("call.recording.saved", recording_urls={"mp3": f"{FILES}/call.mp3"}))

    recording = Recording.objects.get()
    assert recording.recording_id == "rec-call-1" and recording.provisional_id is False
    assert recording.status == Recording.Status.STORED
    assert (recording.size_bytes, recording.sha256, recording.content_type) == (len(AUDIO), AUDIO_SHA256, "audio/mpeg")
    assert recording.download_attempts == 1 and recording.last_error == ""
    assert recording.duration_seconds == 120 and recording.source == Recording.Source.CALL
    files = stored_files(recording_storage_dir)
    assert len(files) == 1 and files[0].read_bytes() == AUDIO
    assert media.call_count == 1
    assert listing.calls.last.request.url.params["filter[call_session_id]"] == "session-1"
    # The row is rendered when the message leaves, so open pages get its state as of then: stored.
    published = "".join(listen.received("recordings"))
    assert 'afterbegin:#recording-rows' in published and 'data-status="stored"' in published


def test_expired_link_then_a_fresh_one_from_the_recordings_api(post_webhook, event_doc, telnyx):
    telnyx.get(f"{FILES}/old.mp3").respond(403, text="Request has expired")
    retrieve = telnyx.get("/recordings/rec-1").respond(200, json={"data": api_recording("rec-1")})
    fresh = telnyx.get(f"{FILES}/rec-1-fresh.mp3").respond(200, content=AUDIO)

    post_webhook(event_doc("conference.recording.saved", recording_urls={"mp3": f"{FILES}/old.mp3"}))

    recording = Recording.objects.get(recording_id="rec-1")
    assert recording.status == Recording.Status.STORED and recording.sha256 == AUDIO_SHA256
    assert retrieve.call_count == 1 and fresh.call_count == 1
    assert recording.download_attempts == 1
    assert recording.recording_urls == {"mp3": f"{FILES}/rec-1-fresh.mp3"}
    assert recording.conference_id == "conf-1" and recording.source == Recording.Source.CONFERENCE


def test_server_error_then_retry_with_a_fresh_link(telnyx, django_capture_on_commit_callbacks, recording_storage_dir):
    recording = RecordingFactory(recording_id="rec-5", recording_urls={"mp3": f"{FILES}/first.mp3"},
                                 urls_received_at=timezone.now())
    first = telnyx.get(f"{FILES}/first.mp3").respond(500)
    telnyx.get("/recordings/rec-5").respond(200, json={"data": api_recording("rec-5")})
    fresh = telnyx.get(f"{FILES}/rec-5-fresh.mp3").mock(
        side_effect=[httpx.ConnectError("reset"), httpx.Response(200, content=AUDIO)]
    )

    download_recording.delay(recording.pk)  # eager: Celery runs its retries in place

    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED
    assert recording.download_attempts == 3  # 500 on the webhook link, a dropped connection, then the file
    assert first.call_count == 1 and fresh.call_count == 2
    assert recording.sha256 == AUDIO_SHA256 and len(stored_files(recording_storage_dir)) == 1


def test_empty_file_is_refused_and_retries_stop_at_the_limit(telnyx, settings, recording_storage_dir):
    settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS = 2
    recording = RecordingFactory(recording_id="rec-6", recording_urls={"mp3": f"{FILES}/empty.mp3"},
                                 urls_received_at=timezone.now())
    telnyx.get(f"{FILES}/empty.mp3").respond(200, content=b"")
    telnyx.get("/recordings/rec-6").respond(200, json={"data": api_recording("rec-6")})
    telnyx.get(f"{FILES}/rec-6-fresh.mp3").respond(200, content=b"")

    download_recording.delay(recording.pk)

    recording.refresh_from_db()
    assert recording.status == Recording.Status.FAILED
    assert recording.download_attempts == 2
    assert "empty file" in recording.last_error
    assert recording.sha256 == "" and stored_files(recording_storage_dir) == []


def test_telnyx_api_error_is_recorded_as_the_last_error(telnyx, settings):
    settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS = 1
    recording = RecordingFactory(recording_id="rec-7")  # no link at all: straight to the API
    telnyx.get("/recordings/rec-7").respond(404, json={"errors": [{"title": "Resource not found", "detail": "No such recording."}]})

    download_recording.delay(recording.pk)

    recording.refresh_from_db()
    assert recording.status == Recording.Status.FAILED and "No such recording." in recording.last_error


def test_catch_up_lists_recent_recordings_and_captures_what_is_not_stored(telnyx, django_capture_on_commit_callbacks):
    waiting = RecordingFactory(recording_id="rec-waiting")
    Recording.objects.filter(pk=waiting.pk).update(saved_at=timezone.now() - timezone.timedelta(minutes=5))
    stored = RecordingFactory(recording_id="rec-done", status=Recording.Status.STORED)
    listing = telnyx.get("/recordings").respond(200, json=page([api_recording("rec-missed", call_session_id="s-9")]))
    transcripts = telnyx.get("/recording_transcriptions").respond(200, json=page([]))
    for rid in ("rec-waiting", "rec-missed"):
        telnyx.get(f"/recordings/{rid}").respond(200, json={"data": api_recording(rid)})
        telnyx.get(f"{FILES}/{rid}-fresh.mp3").respond(200, content=AUDIO)

    with django_capture_on_commit_callbacks(execute=True):
        counts = catch_up_recordings()

    assert counts["recordings_created"] == 1 and counts["queued"] == 1  # listed ones are queued on commit
    assert listing.calls.last.request.url.params["filter[created_at][gte]"]
    assert transcripts.called
    assert Recording.objects.get(recording_id="rec-missed").status == Recording.Status.STORED
    # rec-waiting was saved while the worker was down: the catch-up task queued it.
    assert Recording.objects.get(recording_id="rec-waiting").status == Recording.Status.STORED
    assert Recording.objects.get(pk=stored.pk).download_attempts == 0


def test_catch_up_does_nothing_with_capture_off(settings):
    settings.RECORDING_CAPTURE = False
    RecordingFactory(saved_at=timezone.now() - timezone.timedelta(hours=1))
    assert recordings_catch_up() == 0


def test_recording_error_is_a_failed_attempt_with_telnyx_reason(post_webhook, event_doc, client, viewer):
    post_webhook(event_doc("call.recording.error", reason="insufficient_credit"))
    failed = Recording.objects.get()
    assert failed.status == Recording.Status.FAILED and failed.telnyx_error == "insufficient_credit"
    assert failed.call_control_id == "v3:cc-alice" and failed.download_attempts == 0
    client.force_login(viewer)
    assert "Telnyx: insufficient_credit" in client.get("/recordings/").content.decode()


def test_transcription_attaches_to_its_recording_and_names_a_provisional_one(post_webhook, event_doc, telnyx):
    telnyx.get("/recordings").respond(200, json=page([]))  # not listed yet: stays provisional
    telnyx.get(f"{FILES}/call.mp3").respond(200, content=AUDIO)
    post_webhook(event_doc("call.recording.saved", recording_urls={"mp3": f"{FILES}/call.mp3"}))
    assert Recording.objects.get().provisional_id is True

    post_webhook(event_doc("call.recording.transcription.saved", transcription_text="the invoice is overdue"))

    recording = Recording.objects.get()
    assert (recording.recording_id, recording.provisional_id) == ("rec-1", False)
    transcription = Transcription.objects.get()
    assert (transcription.transcription_id, transcription.text, transcription.recording) == (
        "rt-1", "the invoice is overdue", recording
    )


def test_a_duplicate_saved_event_does_not_download_twice(post_webhook, event_doc, telnyx):
    media = telnyx.get(f"{FILES}/conf.mp3").respond(200, content=AUDIO)
    doc = event_doc("conference.recording.saved", recording_urls={"mp3": f"{FILES}/conf.mp3"})
    post_webhook(doc)
    post_webhook(event_doc("conference.recording.saved", id="another-delivery", recording_urls={"mp3": f"{FILES}/conf.mp3"}))
    assert media.call_count == 1
    assert Recording.objects.get().sha256 == hashlib.sha256(AUDIO).hexdigest()


def test_capture_goes_on_when_telnyx_cannot_name_the_recording(post_webhook, event_doc, telnyx):
    telnyx.get("/recordings").respond(503, json={"errors": [{"title": "Service unavailable"}]})
    telnyx.get(f"{FILES}/call.mp3").respond(200, content=AUDIO)
    post_webhook(event_doc("call.recording.saved", recording_urls={"mp3": f"{FILES}/call.mp3"}))
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.STORED and recording.provisional_id is True


def test_downloads_share_one_http_client_per_process(monkeypatch):
    """One client (one SSL context) per process, not per download; a forked worker makes its own."""
    from recordings import download

    monkeypatch.setattr(download, "_client", None)
    first = download._http()
    assert download._http() is first
    monkeypatch.setattr(download.os, "getpid", lambda: -1)
    assert download._http() is not first


def test_conference_recordings_are_the_recordings_apps_rows(post_webhook, event_doc, telnyx):
    """conference.recording.saved reaches both apps (issue 27): recordings lists the recording, conferencing
    only returns the conference's recording state to idle; a recording without Telnyx's id stands in provisionally."""
    assert handlers_for("conference.recording.saved") == [
        conferencing_handlers.on_recording_saved, recordings_handlers.on_conference_recording_saved,
    ]
    telnyx.get(f"{FILES}/conf.mp3").respond(200, content=AUDIO)
    Conference.objects.create(conference_id="conf-1", recording_state=Conference.RecordingState.RECORDING)
    post_webhook(event_doc("conference.recording.saved", recording_id="", recording_urls={"mp3": f"{FILES}/conf.mp3"}))

    recording = Recording.objects.get(conference_id="conf-1")
    assert recording.provisional_id and recording.recording_id.startswith("conf-1.")
    assert Conference.objects.get(conference_id="conf-1").recording_state == Conference.RecordingState.IDLE


def test_a_saved_call_recording_asks_the_call_page_to_refresh_its_recordings(post_webhook, event_doc, telnyx, listen,
                                                                            recording_storage_dir):
    """Issue 31: the call page's Recordings section is live, not stale until a reload."""
    from tests.calls.factories import CallFactory

    call = CallFactory(call_control_id="v3:alice", call_session_id="session-1")
    listen(f"call.{call.pk}")
    telnyx.get(f"{FILES}/call.mp3").respond(200, content=AUDIO, headers={"content-type": "audio/mpeg"})
    telnyx.get("/recordings").respond(200, json=page([api_recording("rec-call-2")]))

    post_webhook(event_doc("call.recording.saved", call_control_id="v3:alice", recording_urls={"mp3": f"{FILES}/call.mp3"}))

    assert Recording.objects.get().call_control_id == "v3:alice"
    assert '<div data-refresh="call-recordings" hidden></div>' in listen.received(f"call.{call.pk}")
