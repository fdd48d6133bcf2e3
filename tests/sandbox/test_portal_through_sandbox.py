"""The portal driving the sandbox over HTTP, and the sandbox's signed webhooks accepted by the portal."""
import pytest

from conferencing.models import Conference, Participant
from portal import gateway
from portal.commands import services
from portal.models import Command
from sandbox.webhooks import public_key_b64

pytestmark = pytest.mark.django_db


@pytest.fixture
def wired(sandbox, settings):
    """Point the portal's gateway at the sandbox and trust the sandbox's signing key."""
    settings.TELNYX_BASE_URL = f"{sandbox.server.url}/v2"
    settings.TELNYX_PUBLIC_KEY = public_key_b64(sandbox.key)
    gateway._client.cache_clear()
    return sandbox


def forward(sandbox, client, django_capture_on_commit_callbacks, count):
    """Hand the sandbox's deliveries to the portal's webhook endpoint byte for byte."""
    sandbox.receiver.events(wait_for=count)
    statuses = []
    for delivery in list(sandbox.receiver.deliveries):
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery["headers"].items() if k.startswith("telnyx-")}
        with django_capture_on_commit_callbacks(execute=True):
            statuses.append(client.post("/webhooks/telnyx/", data=delivery["body"], content_type="application/json", **headers).status_code)
    sandbox.receiver.deliveries.clear()
    return statuses


def test_operator_builds_a_conference_through_the_sandbox(wired, client, operator, django_capture_on_commit_callbacks):
    host, guest = wired.call(), wired.call()
    assert set(forward(wired, client, django_capture_on_commit_callbacks, 4)) == {200}
    with django_capture_on_commit_callbacks(execute=True):
        create = services.command_issue(action_name="conference.create", target=host,
                                        params={"call_control_id": host, "name": "Escalation"}, user=operator, door="page")
    create.refresh_from_db()
    assert create.status == Command.Status.SUCCEEDED, create.error_detail
    conference = Conference.objects.get(name="Escalation")
    with django_capture_on_commit_callbacks(execute=True):
        services.command_issue(action_name="conference.join", target=conference.conference_id,
                               params={"call_control_id": guest}, user=operator, door="page")
        services.command_issue(action_name="conference.mute", target=conference.conference_id,
                               params={"call_control_ids": [guest]}, user=operator, door="page")
    assert set(forward(wired, client, django_capture_on_commit_callbacks, 3)) == {200}
    roster = {p.call_control_id: (p.status, p.muted) for p in Participant.objects.filter(conference=conference)}
    assert roster == {host: ("joined", False), guest: ("joined", True)}
    sandbox_side = {p.call_control_id: p.muted for p in wired.client.conferences.list_participants(conference.conference_id)}
    assert sandbox_side == {host: False, guest: True}


def test_sandbox_faults_drive_the_command_bus_retries(wired, operator, django_capture_on_commit_callbacks):
    import httpx

    host = wired.call()
    created = wired.client.conferences.create(call_control_id=host, name="R").data.id
    httpx.post(f"{wired.server.url}/_sandbox/faults", json={"path": f"/conferences/{created}/actions/end$", "status": 503, "count": 1})
    with django_capture_on_commit_callbacks(execute=True):
        command = services.command_issue(action_name="conference.end", target=created, params={}, user=operator, door="api")
    command.refresh_from_db()
    assert (command.status, command.attempts) == (Command.Status.SUCCEEDED, 2)
    sent = httpx.get(f"{wired.server.url}/_sandbox/requests").json()
    end_calls = [r for r in sent if r["path"] == f"/conferences/{created}/actions/end"]
    # The 503 was injected before the sandbox handled the request; the retry carried the same command_id.
    assert [r["body"]["command_id"] for r in end_calls] == [str(command.command_id)]
