"""Ringing someone into a conference (issue 28): Telnyx's dial with conference_config, through API and page;
who may; allowed destinations; the participant ringing, then joined, or not answered with Telnyx's cause."""
import json

import pytest

from calls.models import Call
from conferencing.models import Conference, Participant
from portal import dialing
from portal.models import Command
from tests.factories import ConferenceFactory, ParticipantFactory

pytestmark = pytest.mark.django_db
LEG = "v3:rung-in"
TO = "+15557770000"


@pytest.fixture(autouse=True)
def dial_settings(settings):
    settings.TELNYX_CONNECTION_ID = "conn-portal"
    settings.DIAL_FROM_NUMBER = "+15550000000"
    settings.DIAL_ALLOWED_PREFIXES = ["+1", "sip:"]
    return settings


@pytest.fixture
def room(db):
    return ConferenceFactory(conference_id="conf-1", name="Escalation")


@pytest.fixture
def dial(telnyx):
    return telnyx.post("/calls").respond(200, json={"data": {
        "call_control_id": LEG, "call_leg_id": "leg-r", "call_session_id": "session-r", "is_alive": False, "record_type": "call",
    }})


def roster_status(client) -> str:
    page = client.get("/conferences/conf-1/live/").content.decode()
    row = page.split(f'data-call-control-id="{LEG}"')[1].split("</tr>")[0]
    return row.split("data-participant-status>")[1].split("</td>")[0]


def test_api_dial_in_sends_telnyx_dial_with_conference_config(room, operator, client, dial, django_capture_on_commit_callbacks):
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/conferences/conf-1/actions/dial_in/", {"to": TO, "mute": True, "timeout_secs": 20},
                               content_type="application/json")
    assert response.status_code == 202, response.content
    command = Command.objects.get()
    assert json.loads(dial.calls.last.request.content) == {
        "connection_id": "conn-portal", "from": "+15550000000", "to": TO, "timeout_secs": 20,
        "conference_config": {"id": "conf-1", "mute": True},
        "command_id": str(command.command_id), "client_state": dialing.marker(command.command_id),
    }
    leg = Call.objects.get(call_control_id=LEG)
    assert (leg.state, leg.direction, leg.dialed_conference_id, leg.dial_command_id) == ("initiated", "outgoing", "conf-1", command.pk)
    participant = Participant.objects.get(conference=room, call_control_id=LEG)
    assert (participant.status, participant.label, participant.muted) == (Participant.Status.JOINING, TO, True)
    assert "Ringing" in roster_status(client)


def test_a_supervisor_rings_someone_in_with_a_role_and_caller_id(room, supervisor, client, dial,
                                                                 django_capture_on_commit_callbacks):
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/conferences/conf-1/actions/dial_in/",
                               {"to": "sip:coach@pbx.example", "from": "+15559998888", "supervisor_role": "whisper",
                                "whisper_call_control_ids": ["v3:agent"]}, content_type="application/json")
    assert response.status_code == 202
    sent = json.loads(dial.calls.last.request.content)
    assert (sent["from"], sent["to"]) == ("+15559998888", "sip:coach@pbx.example")
    assert sent["conference_config"] == {"id": "conf-1", "supervisor_role": "whisper", "whisper_call_control_ids": ["v3:agent"]}
    assert Participant.objects.get(call_control_id=LEG).supervisor_role == "whisper"


def test_an_operator_cannot_ring_someone_in_as_a_supervisor(room, operator, client, telnyx):
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(operator)
    for role in ("monitor", "whisper", "barge"):
        response = client.post("/api/v1/conferences/conf-1/actions/dial_in/", {"to": TO, "supervisor_role": role},
                               content_type="application/json")
        assert response.status_code == 403
    assert not Command.objects.exists() and route.call_count == 0


def test_a_viewer_cannot_ring_anyone_in(room, viewer, client, telnyx):
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(viewer)
    assert client.post("/api/v1/conferences/conf-1/actions/dial_in/", {"to": TO}, content_type="application/json").status_code == 403
    assert client.post("/conferences/conf-1/actions/dial_in/", {"to": TO}).status_code == 403
    assert not Command.objects.exists() and route.call_count == 0


def test_destinations_outside_the_allowed_prefixes_are_refused(room, operator, client, telnyx):
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(operator)
    api = client.post("/api/v1/conferences/conf-1/actions/dial_in/", {"to": "+447700900123"}, content_type="application/json")
    assert api.status_code == 400 and "not allowed" in " ".join(api.json()["extra"]["fields"]["to"])
    page = client.post("/conferences/conf-1/actions/dial_in/", {"to": "+447700900123"}, HTTP_HX_REQUEST="true").content.decode()
    assert "errorlist" in page and "not allowed" in page
    assert not Command.objects.exists() and route.call_count == 0


def test_an_ended_conference_rings_nobody_in(room, operator, client, telnyx):
    Conference.objects.filter(pk=room.pk).update(status=Conference.Status.COMPLETED)
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(operator)
    response = client.post("/api/v1/conferences/conf-1/actions/dial_in/", {"to": TO}, content_type="application/json")
    assert response.status_code == 400 and route.call_count == 0


def test_the_control_room_offers_add_by_phone_number(room, operator, viewer, client):
    client.force_login(operator)
    page = client.get("/conferences/conf-1/").content.decode()
    form = page.split('id="form-dial_in"')[1].split("</details>")[0]
    assert "Add by phone number" in form and 'name="to"' in form and "/conferences/conf-1/actions/dial_in/" in form
    client.force_login(viewer)
    assert 'id="form-dial_in"' not in client.get("/conferences/conf-1/").content.decode()


def _leg_event(event_doc, event_type, command, **payload):
    return event_doc(event_type, call_control_id=LEG, call_leg_id="leg-r", call_session_id="session-r",
                     client_state=dialing.marker(command.command_id), **payload)


def test_the_rung_in_participant_shows_ringing_then_joined(room, operator, client, post_webhook, event_doc):
    client.force_login(operator)
    # The leg's call.initiated comes before the dial's answer is recorded: its marker names the conference.
    command = Command.objects.create(action="conference.dial_in", target="conf-1", params={"to": TO},
                                     status=Command.Status.RUNNING, requested_by=operator)
    post_webhook(_leg_event(event_doc, "call.initiated", command, id="i-1", direction="outgoing", to=TO,
                            occurred_at="2026-11-23T09:00:01Z"))
    assert Call.objects.get(call_control_id=LEG).dialed_conference_id == "conf-1"
    assert "Ringing" in roster_status(client)
    post_webhook(_leg_event(event_doc, "call.answered", command, id="a-1", occurred_at="2026-11-23T09:00:04Z"))
    post_webhook(event_doc("conference.participant.joined", id="j-1", conference_id="conf-1", call_control_id=LEG,
                           call_leg_id="leg-r", call_session_id="session-r", occurred_at="2026-11-23T09:00:05Z"))
    status = roster_status(client)
    assert "Joined" in status and "Ringing" not in status
    assert Participant.objects.get(call_control_id=LEG).status == Participant.Status.JOINED


def test_a_dial_not_answered_shows_telnyx_cause_in_the_roster(room, operator, client, post_webhook, event_doc):
    client.force_login(operator)
    command = Command.objects.create(action="conference.dial_in", target="conf-1", params={"to": TO},
                                     status=Command.Status.RUNNING, requested_by=operator)
    post_webhook(_leg_event(event_doc, "call.initiated", command, id="i-2", direction="outgoing", to=TO,
                            occurred_at="2026-11-23T09:00:01Z"))
    post_webhook(_leg_event(event_doc, "call.hangup", command, id="h-2", hangup_cause="user_busy", hangup_source="callee",
                            occurred_at="2026-11-23T09:00:03Z"))
    participant = Participant.objects.get(call_control_id=LEG)
    assert participant.status == Participant.Status.LEFT and participant.joined_at is None
    status = roster_status(client)
    assert "Not answered" in status and "user_busy" in status

def test_a_hangup_of_someone_who_joined_is_left_to_participant_left(room, operator, post_webhook, event_doc):
    joined = ParticipantFactory(conference=room, call_control_id="v3:joined")
    post_webhook(event_doc("call.hangup", id="h-3", call_control_id="v3:joined", hangup_cause="normal_clearing"))
    joined.refresh_from_db()
    assert joined.status == Participant.Status.JOINED


def test_the_page_form_posted_as_drawn_sends_no_made_up_list(room, operator, client, dial, django_capture_on_commit_callbacks):
    """A list parameter was drawn with "[]" in it (DRF's initial for lists), which then went to Telnyx as ["[]"]."""
    import re

    client.force_login(operator)
    page = client.get("/conferences/conf-1/").content.decode()
    form = page.split('id="form-dial_in"')[1].split("</form>")[0]
    drawn = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="text" value="([^"]*)"', form))
    assert drawn["whisper_call_control_ids"] == ""
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/conferences/conf-1/actions/dial_in/", {**drawn, "to": TO}, HTTP_HX_REQUEST="true")
    assert json.loads(dial.calls.last.request.content)["conference_config"] == {"id": "conf-1"}
