"""Listening in (issue 28): Telnyx's dial with supervise_call_control_id, through API and page; who may;
allowed destinations; the supervisor leg's state from its webhooks, shown on the supervised call's page."""
import json

import pytest

from calls.models import Call
from portal import dialing
from portal.models import Command, Profile
from tests.calls.factories import CallFactory

pytestmark = pytest.mark.django_db
CC = "v3:cc-agent"
LEG = "v3:supervisor-leg"
ME = "+15557770000"


@pytest.fixture(autouse=True)
def dial_settings(settings):
    settings.TELNYX_CONNECTION_ID = "conn-portal"
    settings.DIAL_FROM_NUMBER = "+15550000000"
    settings.DIAL_ALLOWED_PREFIXES = []
    return settings


@pytest.fixture
def agent(db):
    return CallFactory(call_control_id=CC, from_number="+15551230000", to_number="+15550002222")


@pytest.fixture
def dial(telnyx):
    """Telnyx's POST /calls, answering with the new leg as Telnyx does (is_alive false: dialing is asynchronous)."""
    return telnyx.post("/calls").respond(200, json={"data": {
        "call_control_id": LEG, "call_leg_id": "leg-sup", "call_session_id": "session-sup", "is_alive": False,
        "record_type": "call", "start_time": "2026-11-23T09:00:00Z",
    }})


def expected_dial(command, role="whisper", to=ME):
    return {
        "connection_id": "conn-portal", "from": "+15550000000", "to": to, "supervise_call_control_id": CC,
        "supervisor_role": role, "command_id": str(command.command_id), "client_state": dialing.marker(command.command_id),
    }


def test_api_listen_in_sends_telnyx_dial_and_links_the_new_leg(agent, supervisor, client, dial, django_capture_on_commit_callbacks):
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": ME, "role": "whisper"},
                               content_type="application/json")
    assert response.status_code == 202, response.content
    command = Command.objects.get()
    assert (command.action, command.target, command.params, command.door) == (
        "call.listen_in", CC, {"to": ME, "role": "whisper"}, Command.Door.API)
    assert dial.call_count == 1
    assert json.loads(dial.calls.last.request.content) == expected_dial(command)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED
    leg = Call.objects.get(call_control_id=LEG)
    assert (leg.state, leg.direction, leg.to_number, leg.from_number) == ("initiated", "outgoing", ME, "+15550000000")
    assert (leg.supervised_call_control_id, leg.supervisor_role, leg.dial_command_id) == (CC, "whisper", command.pk)


def test_page_listen_in_remembers_my_number_and_shows_the_leg(agent, supervisor, client, dial, django_capture_on_commit_callbacks):
    client.force_login(supervisor)
    page = client.get(f"/calls/{CC}/").content.decode()
    assert 'id="listen-in-form"' in page and 'value=""' in page.split('id="listen-in-to"')[1][:120]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/calls/{CC}/listen-in/", {"to": ME, "role": "barge"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "queued" in response.content.decode()
    command = Command.objects.get()
    assert command.door == Command.Door.PAGE
    assert json.loads(dial.calls.last.request.content) == expected_dial(command, role="barge")
    assert Profile.objects.get(user=supervisor).phone_number == ME
    page = client.get(f"/calls/{CC}/").content.decode()
    assert f'id="listen-in-to" name="to" type="text" value="{ME}"' in page
    listeners = page.split('id="listeners"')[1]
    assert ME in listeners and "Ringing" in listeners and 'name="role"' in listeners and "Hang up" in listeners


def test_an_operator_cannot_listen_in_through_any_door(agent, operator, client, telnyx):
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(operator)
    assert client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": ME, "role": "monitor"},
                       content_type="application/json").status_code == 403
    assert client.post(f"/calls/{CC}/listen-in/", {"to": ME, "role": "monitor"}).status_code == 403
    assert client.post(f"/calls/{CC}/actions/listen_in/", {"to": ME, "role": "monitor"}).status_code == 403
    assert 'id="listen-in-form"' not in client.get(f"/calls/{CC}/").content.decode()
    assert not Command.objects.exists() and route.call_count == 0
    assert not Profile.objects.exists()


def test_an_administrator_may_listen_in(agent, administrator, client, dial, django_capture_on_commit_callbacks):
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": "sip:boss@pbx.example", "role": "monitor"},
                               content_type="application/json")
    assert response.status_code == 202 and dial.call_count == 1
    assert json.loads(dial.calls.last.request.content)["to"] == "sip:boss@pbx.example"


@pytest.mark.parametrize(
    "prefixes, to, refused",
    [
        (["+1", "+44"], "+33612345678", "not allowed"),
        (["+1", "+44"], "sip:me@pbx.example", "not allowed"),
        ([], "12345", "E.164"),
        ([], "+1 555 777", "E.164"),
        ([], "", "blank"),
    ],
)
def test_destinations_outside_the_allowed_prefixes_get_a_field_error(prefixes, to, refused, agent, supervisor, client,
                                                                      telnyx, dial_settings):
    dial_settings.DIAL_ALLOWED_PREFIXES = prefixes
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(supervisor)
    api = client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": to, "role": "monitor"}, content_type="application/json")
    assert api.status_code == 400
    assert refused in " ".join(api.json()["extra"]["fields"]["to"])
    page = client.post(f"/calls/{CC}/listen-in/", {"to": to, "role": "monitor"}, HTTP_HX_REQUEST="true").content.decode()
    assert "errorlist" in page and "to:" in page
    assert not Command.objects.exists() and route.call_count == 0 and not Profile.objects.exists()


def test_allowed_prefixes_let_matching_destinations_through(agent, supervisor, client, dial, dial_settings,
                                                            django_capture_on_commit_callbacks):
    dial_settings.DIAL_ALLOWED_PREFIXES = ["+1", "sip:"]
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": "+15557770000", "role": "monitor"},
                           content_type="application/json").status_code == 202
        assert client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": "sip:me@pbx.example", "role": "monitor"},
                           content_type="application/json").status_code == 202
    assert dial.call_count == 2


def test_dialing_unconfigured_is_refused_with_a_clear_message(agent, supervisor, client, telnyx, dial_settings):
    dial_settings.TELNYX_CONNECTION_ID = ""
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(supervisor)
    response = client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": ME, "role": "monitor"}, content_type="application/json")
    assert response.status_code == 400
    assert "TELNYX_CONNECTION_ID" in " ".join(response.json()["extra"]["fields"]["non_field_errors"])
    assert route.call_count == 0


def test_an_ended_call_is_not_listened_to(agent, supervisor, client, telnyx):
    Call.objects.filter(pk=agent.pk).update(state=Call.State.HANGUP)
    route = telnyx.route().respond(200, json={"data": {}})
    client.force_login(supervisor)
    response = client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": ME, "role": "monitor"}, content_type="application/json")
    assert response.status_code == 400 and "has ended" in " ".join(response.json()["extra"]["fields"]["non_field_errors"])
    assert 'id="listen-in-form"' not in client.get(f"/calls/{CC}/").content.decode()
    assert not Command.objects.exists() and route.call_count == 0


def test_a_dial_telnyx_refuses_shows_its_words_on_the_supervised_call(agent, supervisor, client, telnyx,
                                                                    django_capture_on_commit_callbacks):
    telnyx.post("/calls").respond(422, json={"errors": [{"code": "10010", "title": "Invalid destination",
                                                          "detail": "The destination number is not reachable."}]})
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": ME, "role": "monitor"}, content_type="application/json")
    command = Command.objects.get()
    assert (command.status, command.error_title) == (Command.Status.FAILED, "Invalid destination")
    assert not Call.objects.filter(call_control_id=LEG).exists()
    assert "The destination number is not reachable." in client.get(f"/calls/{CC}/").content.decode()


def test_a_dial_that_timed_out_is_not_sent_again(agent, supervisor, client, telnyx, django_capture_on_commit_callbacks):
    """A repeated dial rings someone twice: after a 5xx its fate is for a person to decide (house style)."""
    route = telnyx.post("/calls").respond(503, json={"errors": [{"title": "Service unavailable", "detail": "try later"}]})
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/listen_in/", {"to": ME, "role": "monitor"}, content_type="application/json")
    assert route.call_count == 1
    assert Command.objects.get().status == Command.Status.OUTCOME_UNKNOWN  # may have rung: a person decides (issue 23)


def _marker_event(event_doc, event_type, command, **payload):
    return event_doc(event_type, call_control_id=LEG, call_leg_id="leg-sup", call_session_id="session-sup",
                     client_state=dialing.marker(command.command_id), **payload)


def test_the_supervisor_leg_webhooks_move_its_state_on_the_supervised_call_page(
    agent, supervisor, client, telnyx, post_webhook, event_doc, listen, django_capture_on_commit_callbacks,
):
    # The leg's own call.initiated comes before the command's answer is recorded: its marker links it.
    client.force_login(supervisor)
    command = Command.objects.create(action="call.listen_in", target=CC, params={"to": ME, "role": "monitor"},
                                     requested_by=supervisor, door=Command.Door.API, status=Command.Status.RUNNING)
    listen(f"call.{agent.pk}")
    assert post_webhook(_marker_event(event_doc, "call.initiated", command, id="e-init", direction="outgoing",
                                      to=ME, **{"from": "+15550000000"}, occurred_at="2026-11-23T09:00:01Z")).status_code == 200
    leg = Call.objects.get(call_control_id=LEG)
    assert (leg.state, leg.direction, leg.supervised_call_control_id, leg.supervisor_role, leg.dial_command_id) == (
        "initiated", "outgoing", CC, "monitor", command.pk)
    assert any('data-refresh="call-links"' in html for html in listen.received(f"call.{agent.pk}"))
    links = client.get(f"/calls/{CC}/links/").content.decode()
    assert ME in links and "Ringing" in links

    post_webhook(_marker_event(event_doc, "call.answered", command, id="e-ans", occurred_at="2026-11-23T09:00:03Z"))
    assert "Answered" in client.get(f"/calls/{CC}/links/").content.decode().split('id="listeners"')[1]
    assert "listening in on" in client.get(f"/calls/{LEG}/").content.decode()
    api = client.get(f"/api/v1/calls/{LEG}/").json()
    assert (api["supervised_call_control_id"], api["supervisor_role"], api["direction"]) == (CC, "monitor", "outgoing")

    post_webhook(_marker_event(event_doc, "call.hangup", command, id="e-hup", hangup_cause="timeout",
                               hangup_source="callee", occurred_at="2026-11-23T09:00:30Z"))
    listeners = client.get(f"/calls/{CC}/links/").content.decode().split('id="listeners"')[1]
    assert "Ended" in listeners and "timeout, by callee" in listeners and "Switch role" not in listeners
    # The same event delivered again changes nothing and adds no leg.
    post_webhook(_marker_event(event_doc, "call.hangup", command, id="e-hup", hangup_cause="timeout"))
    assert Call.objects.filter(supervised_call_control_id=CC).count() == 1


def test_switching_the_role_live(agent, supervisor, client, telnyx, listen, django_capture_on_commit_callbacks):
    CallFactory(call_control_id=LEG, direction="outgoing", to_number=ME, supervised_call_control_id=CC,
                supervisor_role="monitor")
    route = telnyx.post(f"/calls/{LEG}/actions/switch_supervisor_role").respond(200, json={"data": {"result": "ok"}})
    client.force_login(supervisor)
    listen(f"call.{agent.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/calls/{LEG}/actions/switch_supervisor_role/", {"role": "barge"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert json.loads(route.calls.last.request.content) == {"role": "barge"}
    assert Call.objects.get(call_control_id=LEG).supervisor_role == "barge"
    assert any('data-refresh="call-links"' in html for html in listen.received(f"call.{agent.pk}"))
    assert "<td data-listener-role>barge</td>" in client.get(f"/calls/{CC}/links/").content.decode()
