"""Digits and transcripts are voice-grade content: only listeners see them, through every door (issue 24)."""
import pytest

from calls.models import Call
from portal.live import group_permission
from webhooks.models import WebhookEvent

HIDDEN = "(hidden: needs the listen permission)"


@pytest.fixture
def heard(db, post_webhook, event_doc):
    post_webhook(event_doc("call.initiated", id="vi", occurred_at="2026-11-23T09:00:00Z"))
    post_webhook(event_doc("call.dtmf.received", id="vd", occurred_at="2026-11-23T09:00:01Z", digit="8"))
    post_webhook(event_doc("call.transcription", id="vt", occurred_at="2026-11-23T09:00:02Z",
                           transcription_data={"transcript": "my card is 4111", "is_final": True}))
    return {e.event_type: e for e in WebhookEvent.objects.all()}


@pytest.mark.parametrize("role, sees", [("viewer", False), ("operator", False), ("supervisor", True),
                                        ("administrator", True)])
def test_stored_event_payloads_are_masked_in_the_events_page_and_api(role, sees, heard, client, request):
    client.force_login(request.getfixturevalue(role))
    dtmf, said = heard["call.dtmf.received"], heard["call.transcription"]
    api_dtmf = client.get(f"/api/v1/events/{dtmf.pk}/").json()["payload"]
    api_said = client.get(f"/api/v1/events/{said.pk}/").json()["payload"]
    page = client.get(f"/events/{said.pk}/").content.decode() + client.get(f"/events/{dtmf.pk}/").content.decode()
    if sees:
        assert api_dtmf["digit"] == "8" and api_said["transcription_data"]["transcript"] == "my card is 4111"
        assert "my card is 4111" in page
    else:
        assert api_dtmf["digit"] == HIDDEN and api_said["transcription_data"] == HIDDEN
        assert "my card is" not in page and HIDDEN in page  # not "4111": a timestamp's microseconds can hold it
        assert api_dtmf["call_control_id"]  # the rest of the payload stays


@pytest.mark.parametrize("role, sees", [("operator", False), ("supervisor", True)])
def test_the_admin_masks_payloads_and_transcripts(role, sees, heard, client, request):
    user = request.getfixturevalue(role)
    user.is_staff = True
    user.save()
    client.force_login(user)
    said = heard["call.transcription"]
    event_page = client.get(f"/admin/webhooks/webhookevent/{said.pk}/change/").content.decode()
    call_page = client.get(f"/admin/calls/call/{Call.objects.get().pk}/change/").content.decode()
    assert ("my card is 4111" in event_page) is sees
    assert ("my card is 4111" in call_page) is sees


def test_content_groups_need_the_listen_permission():
    assert group_permission("call.7.heard") == "recordings.listen_recording"
    assert group_permission("call.7.masked") == "calls.view_call"
    assert group_permission("call.7") == "calls.view_call"
