"""The one action door: discovery, one generic page and API view for every kind, one permission check."""
import pytest
from django.apps import apps
from django.test import override_settings

from portal.commands import actions, services
from portal.models import Command
from tests.factories import CommandFactory, ConferenceFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_registry(monkeypatch):
    """Forget what was discovered so the next lookup imports every app's actions.py again."""
    monkeypatch.setattr(actions, "_REGISTRY", {})
    monkeypatch.setattr(actions, "_KINDS", {})
    monkeypatch.setattr(actions, "_discovered", False)
    import sys

    sys.modules.pop("tests.discovery_app.actions", None)
    for name in [m for m in sys.modules if m.endswith(".actions") and m.split(".")[0] in (
            "conferencing", "calls", "queues", "recordings")]:
        sys.modules.pop(name)


def test_actions_of_a_new_app_are_discovered_without_apps_py(fresh_registry, settings):
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.discovery_app.apps.DiscoveryAppConfig"]):
        assert apps.is_installed("tests.discovery_app")
        ping = actions.get("widget.ping")
        assert ping is not None and ping.label == "Ping"
        assert actions.kind_by_plural("widgets").name == "widget"
        # The page form comes from the declaration alone: required mark, enum choices, help text.
        from portal.commands.forms import field_specs

        (spec,) = field_specs(ping)
        assert spec["required"] and spec["choices"] == [("soft", "soft"), ("loud", "loud")] and spec["help_text"] == "How loud."


def test_conference_actions_are_found_with_no_import_in_apps_py(fresh_registry):
    assert actions.get("conference.mute") is not None
    assert actions.kind("conference").plural == "conferences"


@pytest.fixture
def room(db):
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:a")
    return conference


@pytest.mark.parametrize("path", ["/api/v1/nothings/x/actions/mute/", "/api/v1/conferences/conf-1/actions/nope/",
                                  "/api/v1/conferences/conf-404/actions/mute/"])
def test_api_door_answers_404_for_unknown_kind_action_or_target(path, room, operator, client):
    client.force_login(operator)
    response = client.post(path, {}, content_type="application/json")
    assert response.status_code == 404 and response.json()["message"]
    assert not Command.objects.exists()


@pytest.mark.parametrize("path", ["/nothings/x/actions/mute/", "/conferences/conf-1/actions/nope/",
                                  "/conferences/conf-404/actions/mute/"])
def test_page_door_answers_404_for_unknown_kind_action_or_target(path, room, operator, client):
    client.force_login(operator)
    assert client.post(path, {}).status_code == 404
    assert not Command.objects.exists()


def test_page_door_htmx_shows_field_errors_and_queues_nothing(room, operator, client):
    client.force_login(operator)
    response = client.post("/conferences/conf-1/actions/send_dtmf/", {"digits": "x!"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"digits" in response.content and b"Use 0-9" in response.content
    assert not Command.objects.exists()


def test_every_kind_refuses_a_viewer_in_page_api_and_admin(room, viewer, client, telnyx):
    """The same refusal, worded the same way, by the service behind every door."""
    client.force_login(viewer)
    for kind in actions.all_kinds():
        target_row = kind.model._default_manager.first()
        if target_row is None:
            continue
        target = kind.target_of(target_row)
        for action in actions.for_kind(kind.name):
            api = client.post(f"/api/v1/{kind.plural}/{target}/actions/{action.short_name}/", {}, content_type="application/json")
            page = client.post(f"/{kind.plural}/{target}/actions/{action.short_name}/", {})
            assert (api.status_code, page.status_code) == (403, 403), action.name
    assert not Command.objects.exists()


def test_admin_reprocess_and_retry_are_checked_by_the_service(viewer):
    from django.core.exceptions import PermissionDenied

    from webhooks.models import WebhookEvent
    from webhooks.retries import events_reprocess

    with pytest.raises(PermissionDenied):
        events_reprocess(queryset=WebhookEvent.objects.all(), user=viewer)
    with pytest.raises(PermissionDenied):
        services.commands_retry(queryset=Command.objects.all(), user=viewer, door=Command.Door.ADMIN)


def test_admin_reprocess_refused_for_a_viewer_even_through_the_admin_post(viewer, client):
    from webhooks.models import WebhookEvent

    event = WebhookEvent.objects.create(event_id="e1", event_type="call.initiated", raw_body="{}", payload={},
                                        status=WebhookEvent.Status.FAILED)
    client.force_login(viewer)
    client.post("/admin/webhooks/webhookevent/", {"action": "reprocess_selected", "_selected_action": [event.pk]})
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED


def test_declared_admin_action_confirms_destructive_then_issues(room, operator, client, django_capture_on_commit_callbacks, telnyx):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json={"data": {"result": "ok"}})
    client.force_login(operator)
    form = {"action": "issue_conference_end", "_selected_action": [room.pk]}
    confirm = client.post("/admin/conferencing/conference/", form)
    assert confirm.status_code == 200 and b"are you sure" in confirm.content
    assert not Command.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/conferencing/conference/", {**form, "confirmed": "yes"})
    command = Command.objects.get()
    assert command.door == Command.Door.ADMIN and command.status == Command.Status.SUCCEEDED and route.call_count == 1


def test_a_failing_local_state_step_leaves_the_command_succeeded_and_never_resent(room, telnyx, monkeypatch):
    """Telnyx acted; a bug in mirroring it locally is recorded, not turned into a stuck or repeated command."""
    route = telnyx.post("/conferences/conf-1/actions/mute").respond(200, json={"data": {"result": "ok"}})

    def broken(*args, **kwargs):
        raise RuntimeError("bug in local bookkeeping")

    monkeypatch.setattr("conferencing.services.participants_set", broken)
    command = services.command_issue(action_name="conference.mute", target="conf-1", params={}, user=None, door="system")
    services.command_execute(command_pk=command.pk)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED and command.finished_at is not None
    assert "bug in local bookkeeping" in command.local_error
    assert services.commands_sweep_stuck(stuck_after_seconds=0) == 0
    assert route.call_count == 1


def test_an_unexpected_exception_fails_the_command_with_its_traceback(room, monkeypatch):
    from portal import gateway

    def explode(*args, **kwargs):
        raise TypeError("SDK surprise")

    monkeypatch.setattr(gateway, "call", explode)
    command = CommandFactory(action="conference.mute", target="conf-1")
    services.command_execute(command_pk=command.pk)
    command.refresh_from_db()
    assert command.status == Command.Status.FAILED and command.error_title == "Unexpected error"
    assert "TypeError: SDK surprise" in command.error_detail


@pytest.mark.parametrize(
    "params, ok",
    [({}, True), ({"audio_url": "https://e.com/a.mp3"}, True), ({"media_name": "menu"}, True),
     ({"audio_url": "https://e.com/a.mp3", "media_name": "menu"}, False)],
)
def test_gather_follows_telnyx_rules_exactly(params, ok):
    from rest_framework.exceptions import ValidationError

    action = actions.get("conference.gather_using_audio")
    if ok:
        assert action.validate({"call_control_id": "v3:a", **params})["call_control_id"] == "v3:a"
    else:
        with pytest.raises(ValidationError):
            action.validate({"call_control_id": "v3:a", **params})




def test_sdk_names_rename_a_parameter_and_secrets_are_sealed(telnyx, monkeypatch):
    """A declaration can rename a parameter for the SDK and keep a secret out of every door."""
    import json

    from rest_framework import serializers

    from portal.commands.actions import Action
    from portal.commands.api import CommandSerializer

    class Params(serializers.Serializer):
        conference_id = serializers.CharField()
        client_state = serializers.CharField()

    action = Action(name="call.test_join", sdk="client.conferences.actions.join", label="Join", permission="calls.control_call",
                    target_kind="call", target_param="call_control_id", params=Params, sdk_names={"conference_id": "id"},
                    secret_params=("client_state",))
    monkeypatch.setitem(actions._REGISTRY, action.name, action)
    route = telnyx.post("/conferences/conf-9/actions/join").respond(200, json={"data": {"result": "ok"}})
    command = services.command_issue(action_name=action.name, target="v3:leg", params={"conference_id": "conf-9", "client_state": "s3cret"},
                                     user=None, door="system")
    assert command.params == {"conference_id": "conf-9", "client_state": "********"}
    assert "s3cret" not in json.dumps(CommandSerializer(command).data)
    services.command_execute(command_pk=command.pk)
    assert json.loads(route.calls.last.request.content) == {"call_control_id": "v3:leg", "client_state": "s3cret"}
    command.refresh_from_db()
    assert command.sealed_params == {}  # forgotten once Telnyx has it


def test_commands_filter_by_the_username_the_api_shows(operator, viewer, client):
    CommandFactory(requested_by=operator)
    CommandFactory(requested_by=viewer)
    client.force_login(viewer)
    response = client.get("/api/v1/commands/?user=operator")
    assert response.status_code == 200
    assert [row["requested_by"] for row in response.json()["results"]] == ["operator"]
