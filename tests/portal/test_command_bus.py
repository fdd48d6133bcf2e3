"""The command bus against a fake Telnyx over HTTP: success, retries, failures, permissions, sweeper."""
import json
import uuid

import httpx
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from portal.commands import services
from portal.commands.tasks import sweep_stuck_commands
from portal.models import Command
from tests.factories import ConferenceFactory, ParticipantFactory

pytestmark = pytest.mark.django_db
OK = {"data": {"result": "ok"}}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Keep backoff delays small but observable."""
    delays = []
    original = services.backoff_seconds

    def recording(attempts, retry_after):
        delay = original(attempts, retry_after)
        delays.append(delay)
        return delay

    monkeypatch.setattr(services, "backoff_seconds", recording)
    return delays


def issue(user, action="conference.end", target="conf-1", params=None, door=Command.Door.PAGE, capture=None):
    with capture(execute=True):
        return services.command_issue(action_name=action, target=target, params=params or {}, user=user, door=door)


def test_success_sends_the_exact_request_and_records_outcome(telnyx, operator, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED
    assert command.attempts == 1
    assert command.response == OK
    assert command.requested_by == operator and command.door == Command.Door.PAGE
    assert command.started_at and command.finished_at
    sent = route.calls.last.request
    assert json.loads(sent.content) == {"command_id": str(command.command_id)}
    assert sent.headers["authorization"] == "Bearer KEY_TEST"


def test_429_with_retry_after_then_success_reuses_command_id(telnyx, operator, django_capture_on_commit_callbacks, no_sleep):
    route = telnyx.post("/conferences/conf-1/actions/end").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": [{"title": "Too many requests"}]}),
            httpx.Response(200, json=OK),
        ]
    )
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED
    assert command.attempts == 2
    ids = {json.loads(call.request.content)["command_id"] for call in route.calls}
    assert ids == {str(command.command_id)}
    assert no_sleep[0] >= 7


def test_500_then_success(telnyx, operator, django_capture_on_commit_callbacks):
    telnyx.post("/conferences/conf-1/actions/end").mock(
        side_effect=[httpx.Response(500, json={"errors": [{"title": "Server error"}]}), httpx.Response(200, json=OK)]
    )
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert (command.status, command.attempts) == (Command.Status.SUCCEEDED, 2)


def test_422_fails_at_once_with_telnyx_detail(telnyx, operator, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(
        422,
        json={"errors": [{"code": "90018", "title": "Call has already ended", "detail": "This call is no longer active.",
                          "source": {"pointer": "/call_control_id"}}]},
    )
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.FAILED
    assert command.attempts == 1 and route.call_count == 1
    assert (command.error_status, command.error_title) == (422, "Call has already ended")
    assert command.error_detail == "This call is no longer active."


def test_connection_error_is_retried_until_the_cap(telnyx, operator, django_capture_on_commit_callbacks, settings):
    settings.COMMAND_MAX_ATTEMPTS = 3
    route = telnyx.post("/conferences/conf-1/actions/end").mock(side_effect=httpx.ConnectError("refused"))
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.FAILED
    assert command.attempts == 3 == route.call_count
    assert command.error_title == "Connection error"


def test_timeout_is_retried_for_retry_safe_actions(telnyx, operator, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/end").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=OK)]
    )
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED and route.call_count == 2


def test_timeout_is_not_retried_when_a_repeat_could_act_twice(telnyx, operator, django_capture_on_commit_callbacks):
    # conference play takes no command_id and is not idempotent: a second send could play twice.
    route = telnyx.post("/conferences/conf-1/actions/play").mock(side_effect=httpx.ReadTimeout("slow"))
    command = issue(operator, action="conference.play", params={"audio_url": "https://example.com/a.mp3"},
                    capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.OUTCOME_UNKNOWN and route.call_count == 1
    assert command.maybe_delivered and command.error_title == "Timeout"
    assert json.loads(route.calls.last.request.content) == {"audio_url": "https://example.com/a.mp3"}


def test_total_retry_time_is_capped(telnyx, operator, django_capture_on_commit_callbacks, settings):
    settings.COMMAND_MAX_RETRY_SECONDS = 5
    route = telnyx.post("/conferences/conf-1/actions/end").respond(429, headers={"Retry-After": "30"}, json={})
    command = issue(operator, capture=django_capture_on_commit_callbacks)
    command.refresh_from_db()
    assert command.status == Command.Status.FAILED and route.call_count == 1


def test_permission_refused_sends_nothing(telnyx, viewer):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    with pytest.raises(PermissionDenied):
        services.command_issue(action_name="conference.end", target="conf-1", params={}, user=viewer, door="page")
    assert Command.objects.count() == 0 and route.call_count == 0


def test_invalid_parameters_refused_with_nothing_queued_or_sent(telnyx, operator):
    route = telnyx.route().respond(200, json=OK)
    with pytest.raises(ValidationError) as refused:
        services.command_issue(
            action_name="conference.record_start", target="conf-1", params={"format": "ogg"}, user=operator, door="api"
        )
    assert "format" in refused.value.detail
    assert Command.objects.count() == 0 and route.call_count == 0


def test_endpoints_without_command_id_never_get_one(telnyx, operator, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/mute").respond(200, json=OK)
    issue(operator, action="conference.mute", params={"call_control_ids": ["v3:a"]}, capture=django_capture_on_commit_callbacks)
    assert json.loads(route.calls.last.request.content) == {"call_control_ids": ["v3:a"]}


def test_sweeper_requeues_a_command_whose_worker_died(telnyx, operator, settings):
    # Inside COMMAND_MAX_RETRY_SECONDS: Telnyx still drops a repeat of the same command_id.
    settings.COMMAND_STUCK_AFTER_SECONDS = 30
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    long_ago = timezone.now() - timezone.timedelta(seconds=60)
    command = Command.objects.create(action="conference.end", target="conf-1", status=Command.Status.RUNNING,
                                     attempts=1, started_at=long_ago, requested_by=operator)
    Command.objects.filter(pk=command.pk).update(created_at=long_ago)
    assert sweep_stuck_commands() == 1
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED and command.attempts == 2
    assert json.loads(route.calls.last.request.content)["command_id"] == str(command.command_id)


def test_sweeper_fails_a_stuck_command_that_is_unsafe_to_repeat(telnyx, operator):
    route = telnyx.route().respond(200, json=OK)
    long_ago = timezone.now() - timezone.timedelta(minutes=30)
    command = Command.objects.create(action="conference.play", target="conf-1", status=Command.Status.RUNNING,
                                     attempts=1, started_at=long_ago, params={"audio_url": "https://e.com/a.mp3"})
    Command.objects.filter(pk=command.pk).update(created_at=long_ago)
    assert sweep_stuck_commands() == 1
    command.refresh_from_db()
    assert command.status == Command.Status.OUTCOME_UNKNOWN and "stopped or timed out" in command.error_detail
    assert route.call_count == 0


def test_sweeper_requeues_a_queued_command_whose_message_was_lost(telnyx):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    command = Command.objects.create(action="conference.end", target="conf-1")
    Command.objects.filter(pk=command.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=30))
    assert sweep_stuck_commands() == 1
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED and route.call_count == 1


def test_sweeper_leaves_fresh_commands_alone(telnyx):
    Command.objects.create(action="conference.end", target="conf-1", status=Command.Status.RUNNING, started_at=timezone.now())
    assert sweep_stuck_commands() == 0


def test_retry_keeps_command_id_only_when_outcome_was_unknown(telnyx, operator, django_capture_on_commit_callbacks):
    telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    unknown = Command.objects.create(action="conference.end", target="conf-1", status=Command.Status.FAILED, error_status=503)
    refused = Command.objects.create(action="conference.end", target="conf-1", status=Command.Status.FAILED, error_status=422)
    with django_capture_on_commit_callbacks(execute=True):
        retries = services.commands_retry(queryset=Command.objects.filter(pk__in=[unknown.pk, refused.pk]),
                                          user=operator, door=Command.Door.ADMIN)
    by_origin = {r.retry_of_id: r for r in retries}
    assert by_origin[unknown.pk].command_id == unknown.command_id
    assert by_origin[refused.pk].command_id != refused.command_id
    assert all(r.door == Command.Door.ADMIN for r in retries)


def test_local_state_applied_on_success(telnyx, operator, django_capture_on_commit_callbacks):
    conference = ConferenceFactory(conference_id="conf-1")
    alice = ParticipantFactory(conference=conference, call_control_id="v3:alice")
    bob = ParticipantFactory(conference=conference, call_control_id="v3:bob")
    telnyx.post("/conferences/conf-1/actions/mute").respond(200, json=OK)
    issue(operator, action="conference.mute", params={"call_control_ids": ["v3:alice"]}, capture=django_capture_on_commit_callbacks)
    alice.refresh_from_db(), bob.refresh_from_db()
    assert alice.muted and not bob.muted


def test_local_state_untouched_on_failure(telnyx, operator, django_capture_on_commit_callbacks):
    conference = ConferenceFactory(conference_id="conf-1")
    alice = ParticipantFactory(conference=conference, call_control_id="v3:alice")
    telnyx.post("/conferences/conf-1/actions/mute").respond(422, json={"errors": [{"title": "nope", "detail": "no"}]})
    issue(operator, action="conference.mute", params={}, capture=django_capture_on_commit_callbacks)
    alice.refresh_from_db()
    assert not alice.muted


def test_status_changes_are_published_to_commands_and_a_toast_to_the_issuer(telnyx, operator, listen, django_capture_on_commit_callbacks):
    telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    listen("commands")
    listen(f"user.{operator.pk}")
    listen("conference.conf-1")
    issue(operator, capture=django_capture_on_commit_callbacks)
    rows = listen.received("commands")
    assert any("Queued" in html for html in rows) and any("Succeeded" in html for html in rows)
    assert any("toast succeeded" in html for html in listen.received(f"user.{operator.pk}"))
    assert any("command-outcomes" in html for html in listen.received("conference.conf-1"))


def test_unknown_action_is_refused():
    with pytest.raises(services.UnknownAction):
        services.command_issue(action_name="conference.explode", target="x", params={}, user=None, door="api")


def test_command_ids_are_fresh_per_command(telnyx, operator, django_capture_on_commit_callbacks):
    telnyx.post("/conferences/conf-1/actions/end").respond(200, json=OK)
    a = issue(operator, capture=django_capture_on_commit_callbacks)
    b = issue(operator, capture=django_capture_on_commit_callbacks)
    assert a.command_id != b.command_id and isinstance(a.command_id, uuid.UUID)
