"""Malformed numbers (issue 23): huge Range headers, Unicode digits in ids, bad service-level values: never a 500."""
import pytest
from django.core.files.storage import FileSystemStorage

from queues.models import Queue
from tests.queues.factories import QueueFactory
from tests.recordings.conftest import AUDIO, recording_storage_dir  # noqa: F401 - the fixture, for stored audio
from tests.recordings.factories import stored_recording
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
HUGE = "9" * 5000  # past Python's 4,300-digit limit on int(str): int() raises ValueError


def stored_event(event_type: str, *, event_id: str) -> WebhookEvent:
    return WebhookEvent.objects.create(event_id=event_id, event_type=event_type, raw_body="{}", payload={})


@pytest.fixture
def recording():
    return stored_recording(AUDIO, recording_id="rec-range")


@pytest.fixture
def open_handles(monkeypatch):
    """Every audio file handle the views open, to check that each one is closed whatever the answer."""
    handles = []
    real_open = FileSystemStorage.open

    def spy(self, name, mode="rb"):
        handle = real_open(self, name, mode)
        handles.append(handle)
        return handle

    monkeypatch.setattr(FileSystemStorage, "open", spy)
    return handles


@pytest.mark.resilience("Malformed numbers")
@pytest.mark.parametrize("header, status, first, last", [
    (f"bytes={HUGE}-", 416, None, None),          # a start past any file
    (f"bytes=0-{HUGE}", 206, 0, len(AUDIO) - 1),  # an end past the file is cut to it (RFC 9110 14.1.2)
    (f"bytes=-{HUGE}", 206, 0, len(AUDIO) - 1),   # a suffix longer than the file is the whole file
    (f"bytes={HUGE}-{HUGE}", 416, None, None),
    ("bytes=" + "0" * 5000 + "1-2", 206, 1, 2),   # leading zeros do not make a number large
    ("bytes=²-5", 416, None, None),                # not an ASCII digit
])
@pytest.mark.parametrize("door", ["/recordings/{}/audio/", "/api/v1/recordings/{}/audio/"])
def test_huge_range_numbers_are_answered_and_the_file_closed(client, supervisor, recording, open_handles, resilience,
                                                              header, status, first, last, door):
    client.force_login(supervisor)
    resilience.tried()
    response = client.get(door.format(recording.recording_id), HTTP_RANGE=header, HTTP_ACCEPT="audio/*")
    resilience.server_errors(int(response.status_code >= 500))
    assert response.status_code == status
    if status == 206:
        assert b"".join(response.streaming_content) == AUDIO[first:last + 1]
        assert response["Content-Range"] == f"bytes {first}-{last}/{len(AUDIO)}"
    else:
        assert response["Content-Range"] == f"bytes */{len(AUDIO)}"
    response.close()
    assert open_handles and all(h.closed for h in open_handles)


@pytest.mark.resilience("Malformed numbers")
def test_audio_handle_closed_when_the_body_is_never_read(client, supervisor, recording, open_handles, resilience):
    """A HEAD, or a client gone before the first byte: the response is closed without iterating its body."""
    client.force_login(supervisor)
    resilience.tried()
    response = client.get(f"/recordings/{recording.recording_id}/audio/", HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    response.close()
    assert len(open_handles) == 1 and open_handles[0].closed


@pytest.mark.resilience("Malformed numbers")
@pytest.mark.parametrize("value", ["²", "١٢", "9" * 5000, "-1", "1e3", "0x10"])
def test_event_ids_that_are_not_plain_numbers_are_404(client, viewer, resilience, value):
    stored_event("call.answered", event_id="evt-real")
    client.force_login(viewer)
    resilience.tried()
    response = client.get(f"/api/v1/events/{value}/")
    resilience.server_errors(int(response.status_code >= 500))
    assert response.status_code == 404
    assert response.json()["message"]  # the API's one error shape, not a technical page


def test_event_found_by_numeric_id_and_by_telnyx_id(client, viewer):
    event = stored_event("call.answered", event_id="evt-real")
    client.force_login(viewer)
    assert client.get(f"/api/v1/events/{event.pk}/").json()["event_id"] == "evt-real"
    assert client.get("/api/v1/events/evt-real/").json()["id"] == event.pk


@pytest.mark.resilience("Malformed numbers")
@pytest.mark.parametrize("field, value, message", [
    ("service_level_target_secs", "²", "Enter a whole number."),
    ("service_level_target_secs", HUGE, "Enter a whole number."),
    ("service_level_target_secs", "abc", "Enter a whole number."),
    ("service_level_target_secs", "-5", "Enter a number of seconds from 1 to 3600."),
    ("service_level_target_secs", "0", "Enter a number of seconds from 1 to 3600."),
    ("service_level_target_secs", "3601", "Enter a number of seconds from 1 to 3600."),
    ("service_level_goal_percent", "101", "Enter a percentage from 1 to 100."),
    ("service_level_goal_percent", "12.5", "Enter a whole number."),
    ("service_level_goal_percent", "1" * 30, "Enter a percentage from 1 to 100."),
])
def test_service_level_form_refuses_bad_numbers_with_a_message(client, administrator, resilience, field, value, message):
    queue = QueueFactory(name="support", service_level_target_secs=20, service_level_goal_percent=80)
    client.force_login(administrator)
    resilience.tried()
    response = client.post(f"/queues/{queue.name}/settings/", {field: value}, follow=True)
    resilience.server_errors(int(response.status_code >= 500))
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(message in m for m in shown), shown
    queue = Queue.objects.get(pk=queue.pk)
    assert (queue.service_level_target_secs, queue.service_level_goal_percent) == (20, 80)


def test_service_level_form_saves_good_numbers(client, administrator):
    queue = QueueFactory(name="support", service_level_target_secs=20, service_level_goal_percent=80)
    client.force_login(administrator)
    client.post(f"/queues/{queue.name}/settings/", {"service_level_target_secs": " 30 ", "service_level_goal_percent": "90"})
    queue.refresh_from_db()
    assert (queue.service_level_target_secs, queue.service_level_goal_percent) == (30, 90)
