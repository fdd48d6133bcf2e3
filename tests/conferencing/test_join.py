"""Telnyx's join declared once with two targets (issue 27): from a conference and from a call, through page and API."""
import json

import pytest

from conferencing.models import Conference, Participant
from portal.commands import actions
from portal.models import Command
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory

pytestmark = pytest.mark.django_db
OK = {"data": {"result": "ok"}}
LEG, ROOM = "v3:leg-1", "conf-1"
OPTIONS = {"mute": True, "beep_enabled": "on_enter", "client_state": "aGVsbG8="}
# door -> (URL of the join for both targets, body naming the other end)
DOORS = {
    "conference": (f"/conferences/{ROOM}/actions/join/", {"call_control_id": LEG}),
    "call": (f"/calls/{LEG}/actions/join_conference/", {"conference_id": ROOM}),
}


@pytest.fixture
def room(db):
    CallFactory(call_control_id=LEG)
    return ConferenceFactory(conference_id=ROOM)


def post(client, *, target: str, api: bool, body: dict):
    url, other_end = DOORS[target]
    body = {**other_end, **body}
    if api:
        return client.post(f"/api/v1{url}", body, content_type="application/json")
    return client.post(url, {k: ("on" if v is True else v) for k, v in body.items()}, HTTP_HX_REQUEST="true")


def test_both_joins_are_one_declaration():
    from_conference, from_call = actions.get("conference.join"), actions.get("call.join_conference")
    assert from_conference.sdk == from_call.sdk == "client.conferences.actions.join"
    assert from_conference.on_success is from_call.on_success and from_conference.extra_permission is from_call.extra_permission
    shared = set(from_conference.params().fields) - {"call_control_id"}
    assert shared == set(from_call.params().fields) - {"conference_id"}
    assert type(from_conference.params().fields["client_state"]) is type(from_call.params().fields["client_state"])


@pytest.mark.parametrize("api", [True, False], ids=["api", "page"])
@pytest.mark.parametrize("target", sorted(DOORS))
def test_both_targets_send_the_same_request_and_show_the_leg_joining(
    target, api, room, supervisor, client, telnyx, listen, django_capture_on_commit_callbacks,
):
    route = telnyx.post(f"/conferences/{ROOM}/actions/join").respond(200, json=OK)
    client.force_login(supervisor)
    listen(f"conference.{ROOM}")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, target=target, api=api, body=OPTIONS)
    assert response.status_code == (202 if api else 200), response.content
    command = Command.objects.get()
    assert command.status == Command.Status.SUCCEEDED
    assert json.loads(route.calls.last.request.content) == {
        "call_control_id": LEG, "mute": True, "beep_enabled": "on_enter", "client_state": "aGVsbG8=",
        "command_id": str(command.command_id),
    }
    participant = Participant.objects.get(conference=room, call_control_id=LEG)
    assert (participant.status, participant.muted) == (Participant.Status.JOINING, True)
    assert listen.received(f"conference.{ROOM}")  # the control room shows the leg joining


@pytest.mark.parametrize("api", [True, False], ids=["api", "page"])
@pytest.mark.parametrize("target", sorted(DOORS))
def test_both_targets_refuse_client_state_that_is_not_base64(target, api, room, supervisor, client, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(supervisor)
    response = post(client, target=target, api=api, body={"client_state": "not base64!"})
    if api:
        assert response.status_code == 400
        assert "client_state" in response.json()["extra"]["fields"]
    else:
        assert "Enter valid base64" in response.content.decode()
    assert Command.objects.count() == 0 and route.call_count == 0


@pytest.mark.parametrize("target", sorted(DOORS))
def test_both_targets_refuse_an_ended_conference(target, room, supervisor, client, telnyx):
    Conference.objects.filter(pk=room.pk).update(status=Conference.Status.COMPLETED)
    route = telnyx.route().respond(200, json=OK)
    client.force_login(supervisor)
    response = post(client, target=target, api=True, body={})
    assert response.status_code == 400 and "has ended" in json.dumps(response.json())
    assert Command.objects.count() == 0 and route.call_count == 0


@pytest.mark.parametrize("target", sorted(DOORS))
def test_both_targets_need_supervision_to_join_as_a_supervisor(target, room, operator, client, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    assert post(client, target=target, api=True, body={"supervisor_role": "monitor"}).status_code == 403
    assert Command.objects.count() == 0 and route.call_count == 0


def test_both_pages_place_the_join_form(room, supervisor, client):
    client.force_login(supervisor)
    assert f"/calls/{LEG}/actions/join_conference/" in client.get(f"/calls/{LEG}/").content.decode()
    assert f"/conferences/{ROOM}/actions/join/" in client.get(f"/conferences/{ROOM}/").content.decode()
