"""Queues end to end against the sandbox over HTTP: its webhooks, its lists (sync) and every queue command."""
import pytest

from portal.commands import services
from portal.models import Command
from queues.models import Queue, QueuedCall
from queues.sync import fetch_and_sync
from tests.sandbox.conftest import forward

pytestmark = pytest.mark.django_db


def issue(action, target, params, user, capture):
    with capture(execute=True):
        command = services.command_issue(action_name=action, target=target, params=params, user=user, door="page")
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED, (command.error_title, command.error_detail)
    return command


def test_queue_lifecycle_through_the_sandbox(wired, client, administrator, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    issue("queue.create", "desk", {"queue_name": "desk", "max_size": 5}, administrator, capture)
    assert Queue.objects.get(name="desk").max_size == 5
    first, second = wired.call(queue="desk"), wired.call(queue="desk")
    forward(wired, client, capture, 6)  # initiated, answered, enqueued for each
    assert dict(QueuedCall.objects.filter(left_at__isnull=True).values_list("call_control_id", "position")) == {first: 1, second: 2}

    issue("queue.update", "desk", {"max_size": 9}, administrator, capture)
    assert Queue.objects.get(name="desk").max_size == 9
    issue("queue.update_call", "desk", {"call_control_id": second, "keep_after_hangup": True}, administrator, capture)
    assert QueuedCall.objects.get(call_control_id=second).keep_after_hangup is True

    # The sandbox forgets to tell us the first caller left: the sync closes its stay.
    wired.world.dequeue(wired.world.call(first), reason="hangup")
    counts = fetch_and_sync()
    assert counts["closed"] == 1
    assert dict(QueuedCall.objects.filter(left_at__isnull=True).values_list("call_control_id", "position")) == {second: 1}
    assert QueuedCall.objects.get(call_control_id=second).from_number.startswith("+")

    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.command_issue(action_name="queue.delete", target="desk", params={}, user=administrator, door="page")
    issue("queue.remove_call", "desk", {"call_control_id": second}, administrator, capture)
    forward(wired, client, capture, 1)
    assert not QueuedCall.objects.filter(left_at__isnull=True).exists()
    issue("queue.delete", "desk", {}, administrator, capture)
    assert Queue.objects.get(name="desk").deleted_at is not None
    assert [q.name for q in wired.client.queues.list()] == [n for n in wired.world.queues if n != "desk"]
