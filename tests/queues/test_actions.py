"""Every queue action through API, page and admin: the exact Telnyx request, refusals, permissions, local state."""
import json

import pytest

from portal.models import Command
from queues.models import Queue, QueuedCall
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db
QUEUE_DATA = {"id": "q-1", "record_type": "queue", "name": "support", "max_size": 30, "current_size": 0,
              "average_wait_time_secs": 0, "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:05:00Z"}

# action -> (body posted to the generic door, Telnyx method, path, JSON Telnyx receives or None for no body)
ACTIONS = {
    "update": ({"max_size": 30}, "POST", "/queues/support", {"max_size": 30}),
    "delete": ({}, "DELETE", "/queues/support", None),
    "remove_call": ({"call_control_id": "v3:dead"}, "DELETE", "/queues/support/calls/v3:dead", None),
    "update_call": ({"call_control_id": "v3:dead", "keep_after_hangup": True}, "PATCH", "/queues/support/calls/v3:dead",
                    {"keep_after_hangup": True}),
}


@pytest.fixture
def support(db):
    queue = QueueFactory(name="support", max_size=10)
    QueuedCallFactory(queue=queue, call_control_id="v3:dead", is_alive=False, left_at=None)
    return queue


def sent(route):
    request = route.calls.last.request
    return json.loads(request.content) if request.content else None


def test_every_declared_queue_action_is_covered():
    from queues.actions import QUEUE_ACTIONS

    assert {a.short_name for a in QUEUE_ACTIONS if a.name != "queue.create"} == set(ACTIONS)
    assert not any(a.accepts_command_id for a in QUEUE_ACTIONS)  # endpoints.md: no queue endpoint takes command_id


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_api_door_sends_the_right_request(action, support, administrator, client, telnyx, django_capture_on_commit_callbacks):
    body, method, path, expected = ACTIONS[action]
    if action == "delete":
        QueuedCall.objects.update(left_at="2026-11-23T09:00:00Z", wait_time_secs=1)  # nobody waiting
    route = telnyx.route(method=method, path=path).respond(204 if method == "DELETE" else 200, json=None if method == "DELETE" else {"data": QUEUE_DATA})
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/queues/support/actions/{action}/", body, content_type="application/json")
    assert response.status_code == 202, response.content
    assert route.call_count == 1
    assert sent(route) == expected
    command = Command.objects.get()
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED, command.error_detail
    assert "command_id" not in (route.calls.last.request.url.query.decode() + json.dumps(expected or {}))


def test_create_from_the_api_records_the_queue(administrator, client, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/queues").respond(200, json={"data": QUEUE_DATA})
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/queues/", {"queue_name": "support", "max_size": 30}, content_type="application/json")
    assert response.status_code == 202 and response.json()["action"] == "queue.create"
    assert sent(route) == {"queue_name": "support", "max_size": 30}
    queue = Queue.objects.get()
    assert (queue.name, queue.telnyx_id, queue.max_size, queue.deleted_at) == ("support", "q-1", 30, None)


def test_create_from_the_page(administrator, client, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/queues").respond(200, json={"data": QUEUE_DATA})
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/queues/", {"queue_name": "support", "max_size": "30"})
    assert response.status_code == 302
    assert sent(route) == {"queue_name": "support", "max_size": 30}
    assert Command.objects.get().door == Command.Door.PAGE
    bad = client.post("/queues/", {"queue_name": "", "max_size": "0"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "This field is required." in html and "greater than or equal to 1" in html


def test_patch_max_size_is_a_command_and_writes_max_size(support, administrator, client, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/queues/support").respond(200, json={"data": QUEUE_DATA})
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch("/api/v1/queues/support/", {"max_size": 30}, content_type="application/json")
    assert response.status_code == 202 and response.json()["action"] == "queue.update"
    assert sent(route) == {"max_size": 30}
    assert Queue.objects.get().max_size == 30


def test_patch_service_level_is_the_portals_own(support, administrator, viewer, client, telnyx):
    client.force_login(administrator)
    response = client.patch("/api/v1/queues/support/", {"service_level_target_secs": 30, "service_level_goal_percent": 90},
                            content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["service_level_target_secs"], response.json()["service_level_goal_percent"]) == (30, 90)
    bad = client.patch("/api/v1/queues/support/", {"service_level_target_secs": 0}, content_type="application/json")
    assert bad.status_code == 400 and "service_level_target_secs" in bad.json()["extra"]["fields"]
    client.force_login(viewer)
    assert client.patch("/api/v1/queues/support/", {"service_level_target_secs": 5}, content_type="application/json").status_code == 403
    assert Queue.objects.get().service_level_target_secs == 30


def test_delete_is_refused_while_callers_wait_through_every_door(support, administrator, client, telnyx):
    route = telnyx.route().respond(204)
    client.force_login(administrator)
    api = client.delete("/api/v1/queues/support/")
    assert api.status_code == 400
    assert "1 caller is still waiting in “support”" in api.json()["extra"]["fields"]["force"][0]
    generic = client.post("/api/v1/queues/support/actions/delete/", {}, content_type="application/json")
    assert generic.status_code == 400
    page = client.post("/queues/support/actions/delete/", {}, HTTP_HX_REQUEST="true")
    assert "still waiting" in page.content.decode()
    admin = client.post("/admin/queues/queue/", {"action": "issue_queue_delete", "_selected_action": [support.pk], "confirmed": "yes"},
                        follow=True)
    assert "still waiting" in admin.content.decode()
    assert Command.objects.count() == 0 and route.call_count == 0


def test_forced_delete_goes_through_and_closes_the_stays(support, administrator, client, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.delete("/queues/support").respond(204)
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/v1/queues/support/?force=true")
    assert response.status_code == 202
    assert route.call_count == 1 and route.calls.last.request.content == b""
    command = Command.objects.get()
    assert command.params == {"force": True} and command.status == Command.Status.SUCCEEDED
    queue = Queue.objects.get()
    assert queue.deleted_at is not None
    assert QueuedCall.objects.get().leave_reason == QueuedCall.Reason.QUEUE_DELETED
    assert client.get("/api/v1/queues/").json()["count"] == 0
    assert client.get("/api/v1/queues/support/").json()["deleted_at"] is not None


def test_api_remove_call_route(support, operator, client, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.delete("/queues/support/calls/v3:dead").respond(204)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/v1/queues/support/calls/v3:dead/")
    assert response.status_code == 202 and response.json()["action"] == "queue.remove_call"
    assert route.call_count == 1
    stay = QueuedCall.objects.get()
    assert stay.left_at is not None and stay.leave_reason == QueuedCall.Reason.REMOVED
    assert client.delete("/api/v1/queues/support/calls/v3:nobody/").status_code == 404


def test_api_update_call_route(support, operator, client, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.patch("/queues/support/calls/v3:dead").respond(200)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch("/api/v1/queues/support/calls/v3:dead/", {"keep_after_hangup": True}, content_type="application/json")
    assert response.status_code == 202
    assert sent(route) == {"keep_after_hangup": True}
    assert QueuedCall.objects.get().keep_after_hangup is True


def test_telnyx_refusal_is_recorded_in_its_words(support, administrator, client, telnyx, django_capture_on_commit_callbacks):
    telnyx.post("/queues/support").respond(
        422, json={"errors": [{"title": "Invalid", "detail": "max_size cannot be smaller than the number of calls waiting"}]}
    )
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/v1/queues/support/actions/update/", {"max_size": 1}, content_type="application/json")
    command = Command.objects.get()
    assert command.status == Command.Status.FAILED and "cannot be smaller" in command.error_detail
    assert Queue.objects.get().max_size == 10


def test_permissions(support, operator, viewer, client, telnyx):
    route = telnyx.route().respond(200, json={"data": QUEUE_DATA})
    client.force_login(operator)  # may manage callers, not queues
    assert client.post("/api/v1/queues/", {"queue_name": "x"}, content_type="application/json").status_code == 403
    assert client.patch("/api/v1/queues/support/", {"max_size": 3}, content_type="application/json").status_code == 403
    assert client.delete("/api/v1/queues/support/?force=true").status_code == 403
    client.force_login(viewer)
    assert client.delete("/api/v1/queues/support/calls/v3:dead/").status_code == 403
    assert client.post("/queues/support/actions/remove_call/", {"call_control_id": "v3:dead"}).status_code == 403
    assert Command.objects.count() == 0 and route.call_count == 0


def test_admin_bulk_actions(support, administrator, client, telnyx, django_capture_on_commit_callbacks):
    update = telnyx.post("/queues/support").respond(200, json={"data": QUEUE_DATA})
    remove = telnyx.delete("/queues/support/calls/v3:dead").respond(204)
    client.force_login(administrator)
    ask = client.post("/admin/queues/queue/", {"action": "change_max_size", "_selected_action": [support.pk]})
    assert ask.status_code == 200 and "New max size" in ask.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/queues/queue/", {"action": "change_max_size", "_selected_action": [support.pk], "apply": "yes", "max_size": "30"})
    assert sent(update) == {"max_size": 30}
    stay = QueuedCall.objects.get()
    confirm = client.post("/admin/queues/queuedcall/", {"action": "issue_queue_remove_call", "_selected_action": [stay.pk]})
    assert "are you sure" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/queues/queuedcall/", {"action": "issue_queue_remove_call", "_selected_action": [stay.pk], "confirmed": "yes"})
    assert remove.call_count == 1
    assert {c.door for c in Command.objects.all()} == {Command.Door.ADMIN}


def test_admin_lists_with_filters(support, viewer, client):
    client.force_login(viewer)
    assert "support" in client.get("/admin/queues/queue/?deleted=no").content.decode()
    assert "v3:dead" in client.get("/admin/queues/queuedcall/?state=waiting").content.decode()
    assert "v3:dead" not in client.get("/admin/queues/queuedcall/?state=left").content.decode()


def test_command_outcomes_reach_the_queue_page_group(support, administrator, client, telnyx, listen, django_capture_on_commit_callbacks):
    telnyx.post("/queues/support").respond(200, json={"data": QUEUE_DATA})
    listen(f"queue.{support.pk}")
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/v1/queues/support/actions/update/", {"max_size": 30}, content_type="application/json")
    published = "".join(listen.received(f"queue.{support.pk}"))
    assert "command-outcomes" in published and "queue.update" in published
    assert "/queues/support/live/" in published  # the max size changed: open pages re-fetch the queue
