"""The command bus across a real Celery worker (issue 27): queued after commit, sent once by the worker."""
import json

import httpx
import pytest

from portal.models import Command
from tests.calls.factories import CallFactory
from tests.real_worker import wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.real_worker]
CC = "v3:cc-worker"


def finished(command_pk: int):
    command = Command.objects.get(pk=command_pk)
    return command if command.status not in (Command.Status.QUEUED, Command.Status.RUNNING) else None


def test_an_api_command_reaches_telnyx_through_the_worker(real_worker, supervisor, client, telnyx):
    CallFactory(call_control_id=CC)
    route = telnyx.post(f"/calls/{CC}/actions/hangup").respond(200, json={"data": {"result": "ok"}})
    client.force_login(supervisor)

    response = client.post(f"/api/v1/calls/{CC}/actions/hangup/", {"reason": "done"}, content_type="application/json")

    assert response.status_code == 202, response.content
    command = wait_until(lambda: finished(response.json()["id"]), what="the hang-up command finishing")
    assert (command.status, command.attempts, command.door) == (Command.Status.SUCCEEDED, 1, Command.Door.API)
    assert route.call_count == 1
    assert json.loads(route.calls.last.request.content) == {"reason": "done", "command_id": str(command.command_id)}


def test_a_429_is_retried_by_the_worker_with_the_same_command_id(real_worker, supervisor, client, telnyx):
    CallFactory(call_control_id=CC)
    route = telnyx.post(f"/calls/{CC}/actions/hangup").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "0"}, json={"errors": [{"title": "Too many requests"}]}),
        httpx.Response(200, json={"data": {"result": "ok"}}),
    ])
    client.force_login(supervisor)

    response = client.post(f"/api/v1/calls/{CC}/actions/hangup/", {}, content_type="application/json")

    command = wait_until(lambda: finished(response.json()["id"]), what="the retried command finishing")
    assert (command.status, command.attempts) == (Command.Status.SUCCEEDED, 2)
    sent = [json.loads(call.request.content)["command_id"] for call in route.calls]
    assert sent == [str(command.command_id)] * 2
