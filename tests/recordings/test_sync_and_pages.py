"""Sync from Telnyx's lists, the pages (live), and what reaches the conference page."""
from datetime import UTC, datetime

import httpx
import pytest

from portal.sync import full_syncs
from recordings.models import Recording, Transcription
from recordings.services import recording_save
from recordings.sync import sync_recordings, sync_transcriptions
from tests.factories import ConferenceFactory
from tests.recordings.conftest import AUDIO
from tests.recordings.factories import RecordingFactory, TranscriptionFactory, stored_recording

pytestmark = pytest.mark.django_db


def page(items, number=1, total=1):
    return {"data": items, "meta": {"page_number": number, "total_pages": total, "page_size": 250, "total_results": 3}}


def item(id, **extra):
    return {"id": id, "record_type": "recording", "status": "completed", "channels": "dual", "call_session_id": f"s-{id}",
            "recording_started_at": "2026-11-20T10:00:00Z", "recording_ended_at": "2026-11-20T10:01:30Z",
            "created_at": "2026-11-20T10:01:31Z", "duration_millis": 90000, "download_urls": {"mp3": "https://f.test/x"}, **extra}


def test_syncs_are_declared_for_sync_telnyx():
    syncs = full_syncs()
    assert syncs["recordings"] is sync_recordings and syncs["transcriptions"] is sync_transcriptions


def test_sync_reads_every_page_names_provisional_rows_and_keeps_tombstones(telnyx, settings):
    settings.RECORDING_CAPTURE = False
    provisional = RecordingFactory(recording_id="event-9", provisional_id=True, call_session_id="s-rec-b",
                                   started_at=datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC))
    RecordingFactory(recording_id="rec-c", status=Recording.Status.DELETED, call_session_id="")
    route = telnyx.get("/recordings")
    route.side_effect = [
        httpx.Response(200, json=page([item("rec-a"), item("rec-b")], 1, 2)),
        httpx.Response(200, json=page([item("rec-c", conference_id="conf-1")], 2, 2)),
    ]
    assert sync_recordings() == {"created": 1, "updated": 1}
    assert route.call_count == 2 and route.calls[1].request.url.params["page[number]"] == "2"
    a = Recording.objects.get(recording_id="rec-a")
    assert (a.status, a.duration_seconds, a.channels, a.source) == ("saved", 90, "dual", "call")
    provisional.refresh_from_db()
    assert (provisional.recording_id, provisional.provisional_id) == ("rec-b", False)
    assert Recording.objects.get(recording_id="rec-c").status == Recording.Status.DELETED


def test_transcription_sync_attaches_and_creates_missing_recordings(telnyx, settings):
    settings.RECORDING_CAPTURE = False
    known = RecordingFactory(recording_id="rec-known")
    telnyx.get("/recording_transcriptions").respond(200, json=page([
        {"id": "rt-1", "recording_id": "rec-known", "status": "completed", "transcription_text": "hi",
         "created_at": "2026-11-20T10:02:00Z", "updated_at": "2026-11-20T10:02:00Z", "duration_millis": 1000},
        {"id": "rt-2", "recording_id": "rec-new", "status": "in-progress"},
    ]))
    assert sync_transcriptions() == {"created": 2, "updated": 0}
    assert Transcription.objects.get(transcription_id="rt-1").recording == known
    assert Transcription.objects.get(transcription_id="rt-2").recording.recording_id == "rec-new"


def test_list_page_filters_and_empty_states(client, viewer):
    client.force_login(viewer)
    empty = client.get("/recordings/")
    assert "No recordings yet." in empty.content.decode() and empty.context["live_groups"] == ["recordings"]
    RecordingFactory(recording_id="rec-x", status=Recording.Status.FAILED, last_error="HTTP 500 from the file server")
    page = client.get("/recordings/").content.decode()
    assert "rec-x" in page and "HTTP 500 from the file server" in page
    filtered = client.get("/recordings/", {"status": "stored"})
    assert filtered.context["live_groups"] == [] and "No recording matches" in filtered.content.decode()


def test_detail_page_shows_player_transcript_and_delete_by_role(client, supervisor, administrator, viewer):
    recording = stored_recording(AUDIO, recording_id="rec-page")
    TranscriptionFactory(recording=recording, text="First line. Second line?",
                         segments=[{"start": 0, "text": "First line."}, {"start": 4.5, "speaker": "B", "text": "Second line?"}])
    client.force_login(supervisor)
    page = client.get("/recordings/rec-page/")
    html = page.content.decode()
    assert page.context["live_groups"] == [f"recording.{recording.pk}"]
    assert 'src="/recordings/rec-page/audio/"' in html and 'data-start="4.5"' in html and "Second line?" in html
    assert "Delete recording" not in html
    client.force_login(administrator)
    html = client.get("/recordings/rec-page/").content.decode()
    assert "/recordings/rec-page/actions/delete/" in html and "data-confirm" in html
    client.force_login(viewer)
    html = client.get("/recordings/rec-page/").content.decode()
    assert "data-start=" not in html and "First line." not in html  # voice-grade content (issue 24)
    assert "2 lines transcribed (hidden: needs the listen permission)" in html


def test_status_changes_reach_the_list_the_recording_page_and_its_conference(listen, django_capture_on_commit_callbacks):
    conference = ConferenceFactory(conference_id="conf-live")
    listen("recordings")
    listen("conference.conf-live")
    with django_capture_on_commit_callbacks(execute=True):
        recording = recording_save(recording_id="rec-live", conference_id=conference.conference_id)
    listen(f"recording.{recording.pk}")
    rows = "".join(listen.received("recordings"))
    assert 'hx-swap-oob="afterbegin:#recording-rows"' in rows and 'id="recording-' in rows
    assert listen.received("conference.conf-live")  # the conference page re-renders its recordings panel
    with django_capture_on_commit_callbacks(execute=True):
        Recording.objects.filter(pk=recording.pk).update(status="stored")
        from recordings.live import publish_recording

        publish_recording(Recording.objects.get(pk=recording.pk))
    assert 'data-status="stored"' in "".join(listen.received("recordings"))
    assert "/recordings/rec-live/live/" in "".join(listen.received(f"recording.{recording.pk}"))


def test_live_fragment_of_a_recording_page(client, supervisor):
    stored_recording(AUDIO, recording_id="rec-frag")
    client.force_login(supervisor)
    html = client.get("/recordings/rec-frag/live/").content.decode()
    assert 'id="recording-facts" class="panel" hx-swap-oob="true"' in html
    assert 'hx-swap-oob="outerHTML:#recording-player-pending,#recording-player"' in html  # whichever is there (issue 31)


def test_redownload_from_the_page(client, supervisor, viewer, telnyx, django_capture_on_commit_callbacks):
    recording = RecordingFactory(recording_id="rec-again", status=Recording.Status.FAILED, download_attempts=8)
    telnyx.get("/recordings/rec-again").respond(200, json={"data": item("rec-again", download_urls={"mp3": "https://f.test/a"})})
    telnyx.get("https://f.test/a").respond(200, content=AUDIO)
    client.force_login(viewer)
    assert client.post("/recordings/rec-again/redownload/").status_code == 403
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/recordings/rec-again/redownload/")
    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED and recording.download_attempts == 1


def test_a_call_recording_is_linked_to_its_call_by_leg_and_shown_with_links(db, post_webhook, event_doc, administrator, client):
    """call.recording.saved names only the leg: the recording still points at its call, and every page links it."""
    from calls.models import Call
    from recordings.models import Recording

    Call.objects.create(call_control_id="v3:leg-owner", call_leg_id="leg-77", call_session_id="sess-77")
    doc = event_doc("call.recording.saved", id="rec-ev-77", call_leg_id="leg-77", call_session_id="sess-77")
    doc.get("data", doc)["payload"].pop("call_control_id", None)
    assert post_webhook(doc).status_code == 200
    recording = Recording.objects.get(call_leg_id="leg-77")
    assert recording.call_control_id == "v3:leg-owner"
    client.force_login(administrator)
    assert client.get("/api/v1/recordings/?call=v3:leg-owner").json()["count"] == 1
    assert b'href="/calls/v3:leg-owner/"' in client.get("/recordings/").content
    assert f'href="/recordings/{recording.recording_id}/"'.encode() in client.get("/calls/v3:leg-owner/").content


def test_sync_queues_captures_in_batches_and_each_batch_captures_its_recordings(telnyx, settings, monkeypatch,
                                                                               django_capture_on_commit_callbacks):
    """One task per DOWNLOAD_BATCH new recordings, not one per recording; a failed one retries alone."""
    from recordings import capture
    from recordings.tasks import download_recordings

    monkeypatch.setattr(capture, "DOWNLOAD_BATCH", 2)
    items = [item(f"rec-{i}", download_urls={"mp3": f"https://f.test/rec-{i}.mp3"}) for i in range(5)]
    telnyx.get("/recordings").respond(200, json=page(items))
    for i in range(4):
        telnyx.get(f"https://f.test/rec-{i}.mp3").respond(200, content=AUDIO)
    telnyx.get("https://f.test/rec-4.mp3").respond(503)
    telnyx.get("/recordings/rec-4").respond(503)
    batches, retries = [], []
    real_batch = download_recordings.apply_async
    monkeypatch.setattr(download_recordings, "apply_async", lambda args, **kw: (batches.append(args[0]), real_batch(args, **kw)))
    monkeypatch.setattr(capture, "queue_download", lambda pk, countdown=None: retries.append((pk, countdown)))
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_recordings() == {"created": 5, "updated": 0}
    assert [len(b) for b in batches] == [2, 2, 1]
    statuses = dict(Recording.objects.values_list("recording_id", "status"))
    assert [statuses[f"rec-{i}"] for i in range(4)] == [Recording.Status.STORED] * 4
    failed = Recording.objects.get(recording_id="rec-4")
    assert statuses["rec-4"] == Recording.Status.FAILED and retries == [(failed.pk, retries[0][1])] and retries[0][1] > 0
