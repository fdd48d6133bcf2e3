"""Playback and download: byte ranges, the listen permission in every door, the access log, ZIPs."""
import io
import zipfile

import pytest

from portal.audit.models import AuditEntry
from tests.recordings.conftest import AUDIO, FILES
from tests.recordings.factories import stored_recording

ACCESS_KINDS = [AuditEntry.Kind.RECORDING_PLAYED, AuditEntry.Kind.RECORDING_DOWNLOADED]

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording():
    return stored_recording(AUDIO, recording_id="rec-play", recording_urls={"mp3": f"{FILES}/secret-link.mp3"},
                            public_recording_urls={"mp3": f"{FILES}/public-link.mp3"})


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("header, status, first, last", [
    ("bytes=0-99", 206, 0, 99),          # the first bytes
    ("bytes=300-363", 206, 300, 363),    # the middle
    ("bytes=-24", 206, 1000, 1023),      # suffix: the last 24 bytes
    ("bytes=1000-", 206, 1000, 1023),    # open-ended
    ("bytes=900-5000", 206, 900, 1023),  # an end past the file is cut to it
])
def test_byte_ranges(client, supervisor, recording, header, status, first, last):
    client.force_login(supervisor)
    response = client.get(f"/recordings/{recording.recording_id}/audio/", HTTP_RANGE=header)
    assert response.status_code == status
    assert body(response) == AUDIO[first:last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(AUDIO)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"


def test_whole_file_without_range(client, supervisor, recording):
    client.force_login(supervisor)
    response = client.get(f"/recordings/{recording.recording_id}/audio/")
    assert response.status_code == 200 and body(response) == AUDIO
    assert response["Content-Type"] == "audio/mpeg" and response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("header", ["bytes=1024-2000", "bytes=50-10", "bytes=-0", "bytes=abc", "items=0-5"])
def test_invalid_or_unsatisfiable_range_is_416(client, supervisor, recording, header):
    client.force_login(supervisor)
    response = client.get(f"/recordings/{recording.recording_id}/audio/", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(AUDIO)}"


def test_api_audio_supports_ranges_for_listeners(client, administrator, recording):
    client.force_login(administrator)
    response = client.get(f"/api/v1/recordings/{recording.recording_id}/audio/", HTTP_RANGE="bytes=10-19",
                          HTTP_ACCEPT="audio/*")
    assert response.status_code == 206 and body(response) == AUDIO[10:20]


@pytest.mark.parametrize("user", ["viewer", "operator"])
def test_non_listeners_are_refused_audio_in_page_and_api(client, request, recording, user):
    client.force_login(request.getfixturevalue(user))
    assert client.get(f"/recordings/{recording.recording_id}/audio/").status_code == 403
    api = client.get(f"/api/v1/recordings/{recording.recording_id}/audio/")
    assert api.status_code == 403 and "permission" in api.json()["message"]
    assert client.post("/recordings/zip/", {"pk": [recording.pk]}).status_code == 403
    assert AuditEntry.objects.filter(kind__in=ACCESS_KINDS).count() == 0


def test_links_are_hidden_from_non_listeners_in_pages_api_and_admin(client, viewer, supervisor, recording):
    client.force_login(viewer)
    page = client.get(f"/recordings/{recording.recording_id}/").content.decode()
    assert "secret-link" not in page and "<audio" not in page and "Supervisor or Administrator" in page
    api = client.get(f"/api/v1/recordings/{recording.recording_id}/").json()
    assert not {"recording_urls", "public_recording_urls", "audio_url"} & set(api)
    listed = client.get("/api/v1/recordings/").json()["results"][0]
    assert "recording_urls" not in listed and "audio_url" not in listed
    admin = client.get(f"/admin/recordings/recording/{recording.pk}/change/")
    assert admin.status_code == 200
    assert "secret-link" not in admin.content.decode() and "public-link" not in admin.content.decode()
    assert "/audio/" not in admin.content.decode()

    client.force_login(supervisor)
    api = client.get(f"/api/v1/recordings/{recording.recording_id}/").json()
    assert api["recording_urls"] == {"mp3": f"{FILES}/secret-link.mp3"}
    assert api["audio_url"].endswith(f"/api/v1/recordings/{recording.recording_id}/audio/")
    assert "<audio" in client.get(f"/recordings/{recording.recording_id}/").content.decode()
    assert "secret-link" in client.get(f"/admin/recordings/recording/{recording.pk}/change/").content.decode()


def test_plays_and_downloads_are_logged_and_shown_on_the_recording_page(client, supervisor, recording):
    client.force_login(supervisor)
    body(client.get(f"/recordings/{recording.recording_id}/audio/", HTTP_RANGE="bytes=0-"))
    body(client.get(f"/recordings/{recording.recording_id}/audio/", HTTP_RANGE="bytes=500-"))  # a seek: not a new play
    body(client.get(f"/recordings/{recording.recording_id}/audio/?download=1"))
    body(client.get(f"/api/v1/recordings/{recording.recording_id}/audio/?download=1"))
    log = list(AuditEntry.objects.filter(kind__in=ACCESS_KINDS).order_by("id")
               .values_list("username", "kind", "door", "target", "address"))
    assert log == [
        ("supervisor", "recording_played", "page", "rec-play", "127.0.0.1"),
        ("supervisor", "recording_downloaded", "page", "rec-play", "127.0.0.1"),
        ("supervisor", "recording_downloaded", "api", "rec-play", "127.0.0.1"),
    ]
    page = client.get(f"/recordings/{recording.recording_id}/").content.decode()
    assert "Access log" in page and "supervisor" in page and "Recording downloaded" in page and "Recording played" in page


def test_selected_recordings_download_as_one_streamed_zip(client, supervisor, recording):
    other = stored_recording(b"second file", recording_id="rec-two")
    client.force_login(supervisor)
    response = client.post("/recordings/zip/", {"pk": [recording.pk, other.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert sorted(archive.namelist()) == ["rec-play.mp3", "rec-two.mp3"]
    assert archive.read("rec-play.mp3") == AUDIO and archive.read("rec-two.mp3") == b"second file"
    zipped = AuditEntry.objects.filter(kind=AuditEntry.Kind.RECORDING_DOWNLOADED, username="supervisor")
    assert sorted(e.detail["how"] + " " + e.target for e in zipped) == ["zip rec-play", "zip rec-two"]


def test_admin_offers_listen_actions_only_to_listeners(client, viewer, administrator, recording):
    client.force_login(viewer)
    page = client.get("/admin/recordings/recording/").content.decode()
    assert "export_zip" not in page and "delete_at_telnyx" not in page and "redownload" not in page
    response = client.post("/admin/recordings/recording/", {"action": "export_zip", "_selected_action": [recording.pk]})
    assert response.status_code in (200, 302) and not getattr(response, "streaming", False)

    client.force_login(administrator)
    response = client.post("/admin/recordings/recording/", {"action": "export_zip", "_selected_action": [recording.pk]})
    assert response.streaming and zipfile.ZipFile(io.BytesIO(body(response))).read("rec-play.mp3") == AUDIO
