"""Hang up, transfer and bridge (issue 28) beyond the exact requests of test_actions.py: the admin's bulk hang up
with its confirmation, the page's confirmation and leg picker, refusals, and call.bridged linking both legs."""
import json

import pytest

from calls.models import Call
from portal.models import Command
from tests.calls.factories import CallFactory

pytestmark = pytest.mark.django_db
OK = {"data": {"result": "ok"}}
CC = "v3:cc-alice"
OTHER = "v3:cc-bob"


@pytest.fixture
def alice(db):
    return CallFactory(call_control_id=CC, call_session_id="session-a", from_number="+15550001111")


@pytest.fixture
def bob(db):
    return CallFactory(call_control_id=OTHER, call_session_id="session-b", from_number="+15550003333")


def test_admin_hang_up_selected_calls_asks_first_then_hangs_up_live_ones(alice, bob, operator, client, telnyx,
                                                                          django_capture_on_commit_callbacks):
    ended = CallFactory(call_control_id="v3:ended", state=Call.State.HANGUP)
    routes = {cc: telnyx.post(f"/calls/{cc}/actions/hangup").respond(200, json=OK) for cc in (CC, OTHER, "v3:ended")}
    client.force_login(operator)
    form = {"action": "issue_call_hangup", "_selected_action": [alice.pk, bob.pk, ended.pk]}
    confirm = client.post("/admin/calls/call/", form)
    assert confirm.status_code == 200 and b"Hang up selected calls: are you sure?" in confirm.content
    assert not Command.objects.exists() and sum(r.call_count for r in routes.values()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/admin/calls/call/", {**form, "confirmed": "yes"})
    assert done.status_code == 302
    commands = {c.target: c for c in Command.objects.all()}
    assert set(commands) == {CC, OTHER} and {c.door for c in commands.values()} == {Command.Door.ADMIN}
    for cc in (CC, OTHER):
        assert json.loads(routes[cc].calls.last.request.content) == {"command_id": str(commands[cc].command_id)}
    assert routes["v3:ended"].call_count == 0


def test_a_viewer_gets_no_hang_up_action_in_the_admin(alice, viewer, client, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(viewer)
    changelist = client.get("/admin/calls/call/").content.decode()
    assert "issue_call_hangup" not in changelist
    client.post("/admin/calls/call/", {"action": "issue_call_hangup", "_selected_action": [alice.pk], "confirmed": "yes"})
    assert not Command.objects.exists() and route.call_count == 0


def test_the_call_page_confirms_hang_up_and_offers_live_legs_to_bridge(alice, bob, operator, client):
    CallFactory(call_control_id="v3:gone", state=Call.State.HANGUP)
    client.force_login(operator)
    page = client.get(f"/calls/{CC}/").content.decode()
    hangup = page.split('id="form-hangup"')[1].split("</details>")[0]
    assert "data-confirm=" in hangup and f'/calls/{CC}/actions/hangup/' in hangup
    bridge = page.split('id="form-bridge"')[1].split("</details>")[0]
    assert 'name="call_control_id"' in bridge and 'list="known-legs"' in bridge
    legs = page.split('<datalist id="known-legs">')[1].split("</datalist>")[0]
    assert f'value="{OTHER}"' in legs and 'value="v3:gone"' not in legs and f'value="{CC}"' not in legs
    transfer = page.split('id="form-transfer"')[1].split("</details>")[0]
    assert 'name="to"' in transfer and 'name="from"' in transfer and 'name="timeout_secs"' in transfer


@pytest.mark.parametrize(
    "other, message",
    [(CC, "cannot be bridged with itself"), ("v3:gone", "has ended")],
)
def test_bridge_refuses_itself_and_an_ended_leg(other, message, alice, operator, client, telnyx):
    CallFactory(call_control_id="v3:gone", state=Call.State.HANGUP)
    route = telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    api = client.post(f"/api/v1/calls/{CC}/actions/bridge/", {"call_control_id": other}, content_type="application/json")
    assert api.status_code == 400 and message in " ".join(api.json()["extra"]["fields"]["call_control_id"])
    page = client.post(f"/calls/{CC}/actions/bridge/", {"call_control_id": other}, HTTP_HX_REQUEST="true").content.decode()
    assert "errorlist" in page and message in page
    assert not Command.objects.exists() and route.call_count == 0


def test_bridge_refuses_queue_together_with_a_leg(alice, operator, client, telnyx):
    client.force_login(operator)
    response = client.post(f"/api/v1/calls/{CC}/actions/bridge/", {"call_control_id": OTHER, "queue": "support"},
                           content_type="application/json")
    assert response.status_code == 400 and "queue" in response.json()["extra"]["fields"]


def test_transfer_destination_must_be_allowed(alice, operator, client, telnyx, settings):
    settings.DIAL_ALLOWED_PREFIXES = ["+1"]
    route = telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    response = client.post(f"/api/v1/calls/{CC}/actions/transfer/", {"to": "+447700900123"}, content_type="application/json")
    assert response.status_code == 400 and "not allowed" in " ".join(response.json()["extra"]["fields"]["to"])
    assert client.post(f"/api/v1/calls/{CC}/actions/transfer/", {}, content_type="application/json").json()["extra"]["fields"]["to"]
    assert not Command.objects.exists() and route.call_count == 0


def test_transfer_sip_password_reaches_telnyx_but_is_never_shown(alice, operator, client, telnyx,
                                                                 django_capture_on_commit_callbacks):
    route = telnyx.post(f"/calls/{CC}/actions/transfer").respond(200, json=OK)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/calls/{CC}/actions/transfer/",
                               {"to": "sip:desk@pbx.example", "sip_auth_username": "u", "sip_auth_password": "pw-s3cret"},
                               content_type="application/json")
    assert response.status_code == 202 and "pw-s3cret" not in response.content.decode()
    assert json.loads(route.calls.last.request.content)["sip_auth_password"] == "pw-s3cret"
    assert Command.objects.get().params["sip_auth_password"] == "********"
    assert "pw-s3cret" not in client.get(f"/calls/{CC}/").content.decode()


def test_an_operator_may_hang_up_transfer_and_bridge_but_a_viewer_may_not(alice, bob, operator, viewer, client, telnyx,
                                                                          django_capture_on_commit_callbacks):
    telnyx.route().respond(200, json=OK)
    bodies = {"hangup": {}, "transfer": {"to": "+15557654321"}, "bridge": {"call_control_id": OTHER}}
    client.force_login(viewer)
    for action, body in bodies.items():
        assert client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json").status_code == 403
    assert not Command.objects.exists()
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        for action, body in bodies.items():
            assert client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json").status_code == 202
    assert sorted(Command.objects.values_list("action", flat=True)) == ["call.bridge", "call.hangup", "call.transfer"]


def test_call_bridged_links_both_legs_on_both_pages(alice, bob, operator, client, telnyx, post_webhook, event_doc, listen,
                                                    django_capture_on_commit_callbacks):
    telnyx.post(f"/calls/{CC}/actions/bridge").respond(200, json=OK)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/bridge/", {"call_control_id": OTHER}, content_type="application/json")
    listen(f"call.{bob.pk}")
    # call.bridged names no partner: the first of the two links both, from the bridge command.
    post_webhook(event_doc("call.bridged", id="b-1", call_control_id=OTHER, call_leg_id="leg-b", call_session_id="session-b"))
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.bridged_with, bob.bridged_with, bob.state) == (OTHER, CC, Call.State.BRIDGED)
    assert any('data-refresh="call-links"' in html for html in listen.received(f"call.{bob.pk}"))
    post_webhook(event_doc("call.bridged", id="b-2", call_control_id=CC, call_leg_id="leg-a", call_session_id="session-a"))
    for me, other in ((CC, OTHER), (OTHER, CC)):
        links = client.get(f"/calls/{me}/links/").content.decode()
        assert "Bridged with" in links and f'href="/calls/{other}/"' in links


def test_a_transferred_leg_is_linked_by_its_session(operator, client, post_webhook, event_doc):
    caller = CallFactory(call_control_id="v3:caller", call_session_id="session-t", state=Call.State.BRIDGED)
    client.force_login(operator)
    post_webhook(event_doc("call.bridged", id="t-1", call_control_id="v3:new-leg", call_leg_id="leg-n",
                           call_session_id="session-t"))
    caller.refresh_from_db()
    assert caller.bridged_with == "v3:new-leg"
    assert Call.objects.get(call_control_id="v3:new-leg").bridged_with == "v3:caller"
