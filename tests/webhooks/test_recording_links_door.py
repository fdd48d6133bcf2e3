"""Recording links in stored payloads reach only those allowed to listen, through every door that shows events."""
import pytest

from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
LINK = "https://telnyx.test/media/rec-1.mp3?sig=abc"


@pytest.fixture
def event(db):
    payload = {"recording_id": "rec-1", "recording_urls": {"mp3": LINK}, "public_recording_urls": {"mp3": LINK},
               "conference_id": "conf-1"}
    return WebhookEvent.objects.create(event_id="ev-rec", event_type="conference.recording.saved",
                                       raw_body=f'{{"link": "{LINK}"}}', payload=payload, conference_id="conf-1")


@pytest.mark.parametrize("door", ["page", "api", "admin"])
def test_viewer_never_sees_recording_links(door, event, viewer, client):
    client.force_login(viewer)
    url = {"page": f"/events/{event.pk}/", "api": f"/api/v1/events/{event.pk}/",
           "admin": f"/admin/webhooks/webhookevent/{event.pk}/change/"}[door]
    response = client.get(url)
    assert response.status_code == 200
    assert b"rec-1" in response.content  # the event itself is shown...
    assert b"sig=abc" not in response.content  # ...but not the link


@pytest.mark.parametrize("door", ["page", "api", "admin"])
def test_supervisor_sees_recording_links(door, event, supervisor, client):
    client.force_login(supervisor)
    url = {"page": f"/events/{event.pk}/", "api": f"/api/v1/events/{event.pk}/",
           "admin": f"/admin/webhooks/webhookevent/{event.pk}/change/"}[door]
    assert b"sig=abc" in client.get(url).content
