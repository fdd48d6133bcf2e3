"""The portal driving the sandbox over HTTP, and the sandbox's signed webhooks accepted by the portal."""
import pytest

from conferencing.models import Conference, Participant
from portal.commands import services
from portal.models import Command
from tests.sandbox.conftest import forward

pytestmark = pytest.mark.django_db


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
