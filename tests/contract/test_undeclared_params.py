"""Every action door refuses a parameter the action does not declare, and nothing reaches Telnyx (issue 30)."""
import json

import pytest

from portal.admin_mixins import command_action
from portal.commands import actions
from portal.models import Command
from queues.models import Queue
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, ParticipantFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory
from tests.recordings.factories import RecordingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets(db):
    """One row of every kind actions act on, by kind name -> target id."""
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:a")
    CallFactory(call_control_id="v3:a")
    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, call_control_id="v3:a")
    recording = RecordingFactory()
    return {"conference": "conf-1", "call": "v3:a", "queue": "support", "recording": recording.recording_id}


def door_actions():
    """(plural, target kind, short name) of every action reachable through the generic door."""
    return sorted(
        (kind.plural, kind.name, action.short_name)
        for kind in actions.all_kinds()
        for action in actions.for_kind(kind.name)
        if actions.action_for(kind, action.short_name) is action
    )


def test_the_headline_typo_on_unmute_is_refused_and_telnyx_hears_nothing(targets, operator, client, telnyx):
    """`call_control_id` for `call_control_ids` would have unmuted the whole conference."""
    unmute = telnyx.post("/conferences/conf-1/actions/unmute").respond(200, json={"data": {"result": "ok"}})
    client.force_login(operator)
    response = client.post(
        "/api/v1/conferences/conf-1/actions/unmute/", {"call_control_id": ["v3:x"]}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["extra"]["fields"] == {"call_control_id": [actions.UNKNOWN_PARAMETER]}
    assert not Command.objects.exists() and unmute.call_count == 0


@pytest.mark.parametrize("plural, kind_name, short_name", door_actions())
def test_api_door_refuses_an_undeclared_parameter(plural, kind_name, short_name, targets, administrator, client, telnyx):
    client.force_login(administrator)
    response = client.post(
        f"/api/v1/{plural}/{targets[kind_name]}/actions/{short_name}/", {"bogus_param": 1}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "bogus_param" in response.json()["extra"]["fields"]
    assert not Command.objects.exists() and not telnyx.calls


@pytest.mark.parametrize("plural, kind_name, short_name", door_actions())
def test_page_door_refuses_an_undeclared_parameter(plural, kind_name, short_name, targets, administrator, client, telnyx):
    client.force_login(administrator)
    response = client.post(
        f"/{plural}/{targets[kind_name]}/actions/{short_name}/", {"bogus_param": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"bogus_param" in response.content
    assert b"Unknown parameter" in response.content
    assert not Command.objects.exists() and not telnyx.calls


def test_page_door_plain_post_says_which_parameter(targets, operator, client, telnyx):
    client.force_login(operator)
    response = client.post("/conferences/conf-1/actions/unmute/", {"call_control_id": "v3:x"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("call_control_id" in m and "Unknown parameter" in m for m in shown), shown
    assert not Command.objects.exists() and not telnyx.calls


def test_admin_door_refuses_a_plan_with_an_undeclared_parameter(targets, operator, rf, telnyx):
    from django.contrib.admin import site
    from django.contrib.messages.storage.fallback import FallbackStorage

    from conferencing.models import Conference

    admin_action = command_action("conference.unmute", "Unmute", lambda obj: [(obj.conference_id, {"call_control_id": ["v3:a"]})])
    request = rf.post("/admin/conferencing/conference/")
    request.user = operator
    request.session = {}
    request._messages = FallbackStorage(request)
    admin_action(site._registry[Conference], request, Conference.objects.all())
    shown = [str(m) for m in request._messages]
    assert any("call_control_id" in m for m in shown), shown
    assert not Command.objects.exists() and not telnyx.calls


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/v1/conferences/", {"call_control_id": "v3:a", "name": "x", "bogus_param": 1}),
        ("post", "/api/v1/queues/", {"queue_name": "new", "bogus_param": 1}),
        ("patch", "/api/v1/queues/support/", {"max_size": 5, "bogus_param": 1}),
        ("patch", "/api/v1/queues/support/calls/v3:a/", {"keep_after_hangup": True, "bogus_param": 1}),
    ],
)
def test_resource_doors_refuse_an_undeclared_parameter(method, path, body, targets, administrator, client, telnyx):
    client.force_login(administrator)
    response = getattr(client, method)(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "bogus_param" in response.json()["extra"]["fields"]
    assert not Command.objects.exists() and not telnyx.calls
    assert Queue.objects.get(name="support").max_size != 5


def test_creating_a_conference_from_a_leg_never_seen_is_refused_up_front(operator, client, telnyx, django_capture_on_commit_callbacks):
    create = telnyx.post("/conferences").respond(200, json={"data": {"id": "conf-new", "name": "X", "status": "init"}})
    client.force_login(operator)
    body = {"call_control_id": "v3:never-seen", "name": "X"}
    refused = client.post("/api/v1/conferences/", body, content_type="application/json")
    assert refused.status_code == 400
    assert "never seen this call leg" in refused.json()["extra"]["fields"]["call_control_id"][0]
    assert not Command.objects.exists() and not create.called
    with django_capture_on_commit_callbacks(execute=True):
        forced = client.post("/api/v1/conferences/", {**body, "force": True}, content_type="application/json")
    assert forced.status_code == 202 and forced.json()["params"]["force"] is True
    sent = json.loads(create.calls.last.request.content)
    assert sent["call_control_id"] == "v3:never-seen" and "force" not in sent
