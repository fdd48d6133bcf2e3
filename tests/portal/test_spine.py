"""Login, roles, dashboard, API skeleton, Commands page and API."""
import pytest
from django.contrib.auth.models import Group

from portal.models import Command
from portal.roles import ROLES
from tests.factories import CommandFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/", "/conferences/", "/queues/", "/calls/", "/recordings/", "/events/", "/commands/"]


@pytest.mark.parametrize("url", PAGES + ["/admin/", "/api/v1/docs/"])
def test_every_page_requires_login(client, url):
    response = client.get(url)
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert "/login/" in response["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_viewer_sees_every_page(client, viewer, url):
    client.force_login(viewer)
    assert client.get(url).status_code == 200


def test_user_without_role_is_refused(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/").status_code == 403


def test_login_and_logout(client, viewer):
    page = client.get("/login/")
    assert page.status_code == 200 and "Log in" in page.content.decode()
    response = client.post("/login/", {"username": "viewer", "password": "pass-word-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    bad = client.post("/login/", {"username": "viewer", "password": "wrong"})
    assert "didn't match" in bad.content.decode()
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_roles_are_nested_and_match_the_matrix():
    groups = {g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()} for g in Group.objects.all()}
    for name, perms in ROLES.items():
        assert groups[name] == set(perms), name
    assert groups["Viewer"] < groups["Operator"] < groups["Supervisor"] < groups["Administrator"]
    assert "recordings.listen_recording" not in groups["Operator"]
    assert "queues.manage_queue" not in groups["Supervisor"]


def test_dashboard_counts(client, viewer):
    from django.utils import timezone

    from calls.models import Call
    from tests.factories import ConferenceFactory, ParticipantFactory
    from webhooks.models import WebhookEvent

    room = ConferenceFactory()
    ParticipantFactory(conference=room)
    ParticipantFactory(conference=room)
    Call.objects.create(call_control_id="a", state=Call.State.ANSWERED, started_at=timezone.now())
    Call.objects.create(call_control_id="b", state=Call.State.HANGUP)
    CommandFactory(status=Command.Status.FAILED)
    WebhookEvent.objects.create(event_id="x", event_type="t", raw_body="{}", payload={}, status=WebhookEvent.Status.FAILED)
    client.force_login(viewer)
    html = client.get("/").content.decode()
    for counter, value in [("active_conferences", 1), ("participants", 2), ("active_calls", 1), ("failed_commands", 1), ("failed_events", 1), ("waiting_calls", 0)]:
        assert f'data-counter="{counter}"><span class="value">{value}<' in html, counter
    assert 'ws-connect="/ws/live/?subscribe=dashboard,alerts"' in html


def test_sandbox_banner_only_in_sandbox_mode(client, viewer, settings):
    client.force_login(viewer)
    assert "Sandbox: simulated calls" not in client.get("/").content.decode()
    settings.PORTAL_SANDBOX = True
    assert "Sandbox: simulated calls" in client.get("/").content.decode()


def test_api_schema_and_docs_served_locally(client, viewer):
    client.force_login(viewer)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/conferences/{target}/actions/unmute/" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


def test_commands_api_lists_filters_and_paginates(client, viewer, operator):
    CommandFactory(action="conference.mute", status=Command.Status.FAILED, requested_by=operator)
    CommandFactory(action="conference.end", status=Command.Status.SUCCEEDED)
    client.force_login(viewer)
    body = client.get("/api/v1/commands/").json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 2
    failed = client.get("/api/v1/commands/", {"status": "failed"}).json()
    assert [c["action"] for c in failed["results"]] == ["conference.mute"]
    assert failed["results"][0]["requested_by"] == "operator"
    one = client.get(f"/api/v1/commands/{failed['results'][0]['id']}/").json()
    assert one["status_url"].endswith(f"/api/v1/commands/{one['id']}/")
    assert client.get("/api/v1/commands/", {"status": "exploded"}).status_code == 400


def test_commands_api_is_read_only(client, administrator):
    client.force_login(administrator)
    assert client.post("/api/v1/commands/", {"action": "conference.end"}, content_type="application/json").status_code in (403, 405)
    assert Command.objects.count() == 0


def test_commands_page_filters_and_detail(client, viewer, operator):
    CommandFactory(action="conference.mute", status=Command.Status.FAILED, error_detail="Call ended", requested_by=operator)
    CommandFactory(action="conference.end", status=Command.Status.SUCCEEDED)
    client.force_login(viewer)
    html = client.get("/commands/", {"status": "failed"}).content.decode()
    assert "conference.mute" in html and "conference.end" not in html and "Call ended" in html
    command = Command.objects.get(action="conference.mute")
    assert "Call ended" in client.get(f"/commands/{command.pk}/").content.decode()


def test_admin_retry_action(client, operator, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences/conf-1/actions/end").respond(200, json={"data": {}})
    failed = CommandFactory(action="conference.end", target="conf-1", status=Command.Status.FAILED, error_status=500)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/portal/command/", {"action": "retry_selected", "_selected_action": [failed.pk]})
    retry = Command.objects.get(retry_of=failed)
    assert retry.status == Command.Status.SUCCEEDED and route.call_count == 1


def test_viewer_cannot_retry_in_admin(client, viewer, telnyx):
    failed = CommandFactory(action="conference.end", target="conf-1", status=Command.Status.FAILED)
    client.force_login(viewer)
    client.post("/admin/portal/command/", {"action": "retry_selected", "_selected_action": [failed.pk]})
    assert Command.objects.count() == 1


def test_ensure_superuser_creates_once(capsys):
    from django.core.management import call_command

    call_command("ensure_superuser", "--password", "s3cret-pass")
    assert "admin / s3cret-pass" in capsys.readouterr().out
    call_command("ensure_superuser")
    assert "exists" in capsys.readouterr().out
