"""Every conference action through API, page and admin: the exact Telnyx request, and permissions."""
import json

import pytest

from conferencing.models import Conference, Participant
from portal.models import Command
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, ParticipantFactory

pytestmark = pytest.mark.django_db
OK = {"data": {"result": "ok"}}

# action -> (body posted to the portal, Telnyx path suffix, does the endpoint take command_id)
ACTIONS = {
    "end": ({}, "actions/end", True),
    "gather_using_audio": ({"call_control_id": "v3:a", "audio_url": "https://e.com/p.mp3", "maximum_digits": 4}, "actions/gather_using_audio", False),
    "hold": ({"call_control_ids": ["v3:a"], "audio_url": "https://e.com/h.mp3"}, "actions/hold", False),
    "join": ({"call_control_id": "v3:new", "mute": True, "beep_enabled": "on_enter"}, "actions/join", True),
    "leave": ({"call_control_id": "v3:a"}, "actions/leave", True),
    "mute": ({"call_control_ids": ["v3:a"]}, "actions/mute", False),
    "play": ({"audio_url": "https://e.com/a.mp3", "loop": "3"}, "actions/play", False),
    "record_pause": ({}, "actions/record_pause", True),
    "record_resume": ({}, "actions/record_resume", True),
    "record_start": ({"format": "wav", "channels": "dual", "play_beep": True}, "actions/record_start", True),
    "record_stop": ({}, "actions/record_stop", True),
    "send_dtmf": ({"digits": "12#"}, "actions/send_dtmf", False),
    "speak": ({"payload": "Hello", "voice": "female", "language": "en-US"}, "actions/speak", True),
    "stop": ({}, "actions/stop", False),
    "unhold": ({"call_control_ids": ["v3:a"]}, "actions/unhold", False),
    "unmute": ({"call_control_ids": ["v3:a"]}, "actions/unmute", False),
    "update": ({"call_control_id": "v3:a", "supervisor_role": "monitor"}, "actions/update", True),
    "update_participant": ({"participant_id": "v3:a", "end_conference_on_exit": True}, "participants/v3:a", False),
}


@pytest.fixture
def room(db):
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:a")
    return conference


def expected_body(body: dict, command: Command, takes_command_id: bool) -> dict:
    sent = {k: v for k, v in body.items() if k != "participant_id"}
    if "loop" in sent:
        sent["loop"] = int(sent["loop"])
    if takes_command_id:
        sent["command_id"] = str(command.command_id)
    return sent


def test_every_declared_conference_action_is_covered():
    from conferencing.actions import CONFERENCE_ACTIONS, JOIN_ACTIONS

    # dial_in is Telnyx's dial (POST /calls), not a conference endpoint: tests/conferencing/test_dial_in.py.
    declared = CONFERENCE_ACTIONS + JOIN_ACTIONS
    assert {a.short_name for a in declared if a.target_kind == "conference"} == set(ACTIONS) | {"dial_in"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_api_action_sends_the_right_request(action, room, supervisor, client, telnyx, django_capture_on_commit_callbacks):
    body, suffix, takes_command_id = ACTIONS[action]
    method = "PATCH" if action == "update_participant" else "POST"
    route = telnyx.route(method=method, path=f"/conferences/conf-1/{suffix}").respond(200, json=OK)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/conferences/conf-1/actions/{action}/", body, content_type="application/json")
    assert response.status_code == 202, response.content
    command = Command.objects.get()
    assert response.json()["id"] == command.pk and response.json()["status"] == "queued"
    assert response.json()["status_url"].endswith(f"/api/v1/commands/{command.pk}/")
    assert route.call_count == 1
    assert json.loads(route.calls.last.request.content) == expected_body(body, command, takes_command_id)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED and command.door == Command.Door.API


def test_api_create_conference_from_call_leg(operator, client, telnyx, django_capture_on_commit_callbacks):
    CallFactory(call_control_id="v3:x")
    route = telnyx.post("/conferences").respond(
        200, json={"data": {"id": "conf-new", "name": "Escalation", "record_type": "conference", "status": "init",
                            "created_at": "2026-11-23T09:00:00Z", "expires_at": "2026-11-23T13:00:00Z", "region": "US"}}
    )
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/conferences/", {"call_control_id": "v3:x", "name": "Escalation"}, content_type="application/json")
    assert response.status_code == 202
    command = Command.objects.get()
    assert json.loads(route.calls.last.request.content) == {"call_control_id": "v3:x", "name": "Escalation", "command_id": str(command.command_id)}
    conference = Conference.objects.get(conference_id="conf-new")
    assert (conference.name, conference.region) == ("Escalation", "US")


def test_api_invalid_parameters_are_400_with_field_messages(operator, client, room, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    response = client.post("/api/v1/conferences/conf-1/actions/record_start/", {"format": "ogg"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid input."
    assert "format" in response.json()["extra"]["fields"]
    response = client.post("/api/v1/conferences/conf-1/actions/speak/", {}, content_type="application/json")
    assert set(response.json()["extra"]["fields"]) == {"payload", "voice"}
    assert Command.objects.count() == 0 and route.call_count == 0


def test_api_unknown_action_and_conference_are_404(operator, client, room):
    client.force_login(operator)
    assert client.post("/api/v1/conferences/conf-1/actions/explode/", {}, content_type="application/json").status_code == 404
    assert client.post("/api/v1/conferences/nope/actions/mute/", {}, content_type="application/json").status_code == 404


def test_viewer_is_refused_by_api_page_and_admin(viewer, client, room, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(viewer)
    api = client.post("/api/v1/conferences/conf-1/actions/mute/", {}, content_type="application/json")
    assert api.status_code == 403
    assert "permission" in api.json()["message"]
    page = client.post("/conferences/conf-1/actions/mute/", {})
    assert page.status_code == 403
    admin = client.post("/admin/conferencing/conference/", {"action": "issue_conference_mute", "_selected_action": [room.pk]})
    assert admin.status_code in (200, 302)
    assert Command.objects.count() == 0 and route.call_count == 0


def test_operator_cannot_supervise(operator, client, room, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    update = client.post("/api/v1/conferences/conf-1/actions/update/", {"call_control_id": "v3:a", "supervisor_role": "whisper"}, content_type="application/json")
    assert update.status_code == 403
    join = client.post("/api/v1/conferences/conf-1/actions/join/", {"call_control_id": "v3:b", "supervisor_role": "barge"}, content_type="application/json")
    assert join.status_code == 403
    assert route.call_count == 0


def test_token_authentication(operator, client, room, telnyx, django_capture_on_commit_callbacks):
    from portal.tokens import api_token_create

    telnyx.post("/conferences/conf-1/actions/mute").respond(200, json=OK)
    _, key = api_token_create(user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/conferences/conf-1/actions/mute/", {}, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 202
    assert Command.objects.get().requested_by == operator
    assert client.get("/api/v1/conferences/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_page_action_with_htmx_returns_outcome_fragment(operator, client, room, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/mute").respond(200, json=OK)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/conferences/conf-1/actions/mute/", {"call_control_ids": "v3:a"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Mute queued" in response.content.decode()
    assert json.loads(route.calls.last.request.content) == {"call_control_ids": ["v3:a"]}
    assert Command.objects.get().door == Command.Door.PAGE
    assert Participant.objects.get(call_control_id="v3:a").muted


def test_page_action_shows_form_errors(operator, client, room, telnyx):
    client.force_login(operator)
    response = client.post("/conferences/conf-1/actions/send_dtmf/", {"digits": "12x"}, HTTP_HX_REQUEST="true")
    assert "digits" in response.content.decode() and "Use 0-9" in response.content.decode()
    assert Command.objects.count() == 0


def test_page_action_without_htmx_redirects_with_message(operator, client, room, telnyx, django_capture_on_commit_callbacks):
    telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/conferences/conf-1/actions/end/", {}, follow=True)
    assert "End conference queued" in response.content.decode()


def test_admin_bulk_action_issues_through_the_bus(operator, client, room, telnyx, django_capture_on_commit_callbacks):
    second = ConferenceFactory(conference_id="conf-2")
    ParticipantFactory(conference=second, call_control_id="v3:z")
    routes = [telnyx.post(f"/conferences/{cid}/actions/mute").respond(200, json=OK) for cid in ("conf-1", "conf-2")]
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/conferencing/conference/", {"action": "issue_conference_mute", "_selected_action": [room.pk, second.pk]})
    assert response.status_code == 302
    assert [r.call_count for r in routes] == [1, 1]
    assert set(Command.objects.values_list("door", flat=True)) == {Command.Door.ADMIN}
    assert Participant.objects.filter(muted=True).count() == 2


def test_admin_end_asks_for_confirmation_first(operator, client, room, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    client.force_login(operator)
    first = client.post("/admin/conferencing/conference/", {"action": "issue_conference_end", "_selected_action": [room.pk]})
    assert first.status_code == 200 and "are you sure" in first.content.decode()
    assert route.call_count == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conferencing/conference/", {"action": "issue_conference_end", "_selected_action": [room.pk], "confirmed": "yes"})
    assert route.call_count == 1


def test_admin_participant_remove(operator, client, room, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/leave").respond(200, json=OK)
    participant = Participant.objects.get()
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conferencing/participant/", {"action": "issue_conference_leave", "_selected_action": [participant.pk], "confirmed": "yes"})
    assert json.loads(route.calls.last.request.content)["call_control_id"] == "v3:a"


def test_viewer_is_not_offered_admin_command_actions(viewer, client, room):
    client.force_login(viewer)
    page = client.get("/admin/conferencing/conference/").content.decode()
    assert "issue_conference_mute" not in page


def test_ended_by_is_credited_from_the_end_command(operator, room, telnyx, post_webhook, event_doc, django_capture_on_commit_callbacks):
    from portal.commands import services

    telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    with django_capture_on_commit_callbacks(execute=True):
        services.command_issue(action_name="conference.end", target="conf-1", params={}, user=operator, door="page")
    post_webhook(event_doc("conference.ended", reason="ended_via_api"))
    room.refresh_from_db()
    assert room.ended_by == operator and room.status == Conference.Status.COMPLETED


@pytest.mark.parametrize("door", ["api", "page"])
def test_an_ended_conference_takes_no_more_commands(door, room, operator, client, telnyx):
    """Every door refuses before queueing, so nothing reaches Telnyx and no badge is set on a finished room."""
    route = telnyx.route().respond(200, json=OK)
    Conference.objects.filter(pk=room.pk).update(status=Conference.Status.COMPLETED)
    client.force_login(operator)
    if door == "api":
        response = client.post("/api/v1/conferences/conf-1/actions/record_start/", {"format": "mp3"},
                               content_type="application/json")
        assert response.status_code == 400
        assert "has ended" in json.dumps(response.json()["extra"])
    else:
        response = client.post("/conferences/conf-1/actions/record_start/", {"format": "mp3"}, HTTP_HX_REQUEST="true")
        assert b"has ended" in response.content
    assert not Command.objects.exists() and route.call_count == 0
    room.refresh_from_db()
    assert room.recording_state == Conference.RecordingState.IDLE


def test_a_recording_start_that_lands_after_the_end_does_not_mark_the_room_recording(room, telnyx):
    from portal.commands import services

    telnyx.post("/conferences/conf-1/actions/record_start").respond(200, json={"data": {"recording_id": "r1"}})
    command = services.command_issue(action_name="conference.record_start", target="conf-1", params={"format": "mp3"},
                                     user=None, door="system")
    Conference.objects.filter(pk=room.pk).update(status=Conference.Status.COMPLETED)  # ended meanwhile
    services.command_execute(command_pk=command.pk)
    room.refresh_from_db()
    assert room.recording_state == Conference.RecordingState.IDLE
