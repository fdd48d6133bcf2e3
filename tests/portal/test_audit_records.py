"""What goes into the audit trail (issue 24): who, what, when, from where, through which door."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from portal.audit.models import AuditEntry
from portal.models import Command
from portal.tokens import api_token_create, api_token_revoke
from recordings.deletion import recording_tombstone
from tests.factories import ConferenceFactory, UserFactory
from tests.recordings.factories import stored_recording
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
Kind = AuditEntry.Kind


def entries(kind):
    return list(AuditEntry.objects.filter(kind=kind).order_by("id"))


def test_sign_in_failure_and_lockout_are_recorded_with_the_address(client, settings):
    user = UserFactory(username="alice", role="Operator")
    assert client.post("/login/", {"username": "alice", "password": "pass-word-123"}, REMOTE_ADDR="10.1.1.1").status_code == 302
    [signed_in] = entries(Kind.SIGN_IN)
    assert (signed_in.actor_id, signed_in.username, signed_in.address, signed_in.door) == (user.pk, "alice", "10.1.1.1", "page")
    client.post("/logout/", REMOTE_ADDR="10.1.1.1")
    assert [(e.username, e.address) for e in entries(Kind.SIGN_OUT)] == [("alice", "10.1.1.1")]

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "mallory", "password": "guess"}, REMOTE_ADDR="10.6.6.6")
    failed = entries(Kind.SIGN_IN_FAILED)
    assert len(failed) == settings.AXES_FAILURE_LIMIT
    assert {(e.username, e.address, e.door, e.actor_id) for e in failed} == {("mallory", "10.6.6.6", "admin", None)}
    [locked] = entries(Kind.LOCKOUT)
    assert (locked.username, locked.address) == ("mallory", "10.6.6.6")
    assert "password" not in str([e.detail for e in failed + [locked]])


def test_a_bad_api_token_is_a_failed_sign_in_from_the_api_door(client):
    response = client.get("/api/v1/commands/", HTTP_AUTHORIZATION="Token nope", REMOTE_ADDR="10.2.2.2")
    assert response.status_code == 401
    [failed] = entries(Kind.SIGN_IN_FAILED)
    assert (failed.username, failed.address, failed.door) == ("", "10.2.2.2", "api")
    assert "nope" not in failed.summary + str(failed.detail)


def test_a_command_is_recorded_with_its_door_in_the_same_transaction(client, operator, telnyx, django_capture_on_commit_callbacks):
    ConferenceFactory(conference_id="conf-1")
    telnyx.post("/conferences/conf-1/actions/mute").respond(200, json={"data": {"result": "ok"}})
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        api = client.post("/api/v1/conferences/conf-1/actions/mute/", {}, content_type="application/json", REMOTE_ADDR="10.3.3.3")
        page = client.post("/conferences/conf-1/actions/mute/", {}, REMOTE_ADDR="10.3.3.4")
    assert api.status_code == 202 and page.status_code == 302
    commands = list(Command.objects.order_by("id"))
    recorded = entries(Kind.COMMAND)
    assert [(e.detail["command"], e.door, e.address, e.username, e.target) for e in recorded] == [
        (commands[0].pk, "api", "10.3.3.3", "operator", "conf-1"),
        (commands[1].pk, "page", "10.3.3.4", "operator", "conf-1"),
    ]
    assert recorded[0].detail["action"] == "conference.mute"


def test_a_rolled_back_command_leaves_no_entry(operator):
    from portal.commands.services import command_issue

    ConferenceFactory(conference_id="conf-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        command_issue(action_name="conference.mute", target="conf-1", params={}, user=operator, door="page")
        raise RuntimeError("the caller's transaction fails")
    assert Command.objects.count() == 0 and AuditEntry.objects.filter(kind=Kind.COMMAND).count() == 0


def test_recording_deletion_is_recorded_with_who_asked(administrator):
    recording = stored_recording(b"abc", recording_id="rec-del")
    with transaction.atomic():
        recording_tombstone(recording_id="rec-del", user=administrator, reason="Deleted by administrator (API)")
    [deleted] = entries(Kind.RECORDING_DELETED)
    assert (deleted.username, deleted.target, deleted.detail["recording"]) == ("administrator", "rec-del", recording.pk)


def test_reprocessing_from_the_admin_is_recorded(client, operator):
    event = WebhookEvent.objects.create(event_id="ev-1", event_type="call.hangup", payload={}, status=WebhookEvent.Status.FAILED)
    client.force_login(operator)
    client.post("/admin/webhooks/webhookevent/", {"action": "reprocess_selected", "_selected_action": [event.pk]},
                REMOTE_ADDR="10.4.4.4")
    [entry] = entries(Kind.EVENT_REPROCESSED)
    assert (entry.username, entry.door, entry.address, entry.detail["event_ids"]) == ("operator", "admin", "10.4.4.4", ["ev-1"])


def test_a_service_level_change_is_recorded_with_before_and_after(client, administrator):
    from tests.queues.factories import QueueFactory

    QueueFactory(name="support", service_level_target_secs=20)
    client.force_login(administrator)
    response = client.patch("/api/v1/queues/support/", {"service_level_target_secs": 45}, content_type="application/json")
    assert response.status_code == 200
    [entry] = entries(Kind.SETTING_CHANGED)
    assert (entry.username, entry.door, entry.detail["changes"]) == ("administrator", "api", {"service_level_target_secs": [20, 45]})


def test_users_roles_and_tokens_changed_in_the_admin_are_recorded(client, administrator):
    client.force_login(UserFactory(username="root", is_superuser=True))
    before = AuditEntry.objects.count()
    response = client.post("/admin/auth/user/add/", {"username": "bob", "password1": "Long-pass-8812", "password2": "Long-pass-8812",
                                                     "usable_password": "true"}, REMOTE_ADDR="10.5.5.5")
    assert response.status_code == 302, response.content.decode()[:2000]
    bob = get_user_model().objects.get(username="bob")
    bob.groups.add(Group.objects.get(name="Viewer"))
    bob.groups.remove(Group.objects.get(name="Viewer"))
    bob.is_active = False
    bob.save()
    token, key = api_token_create(user=bob)
    api_token_revoke(token=token)
    bob.delete()
    new = list(AuditEntry.objects.order_by("id")[before:].values_list("kind", "summary"))
    assert new == [
        ("user_created", "User bob created"),
        ("user_changed", "User bob: groups added: Viewer"),
        ("user_changed", "User bob: groups removed: Viewer"),
        ("user_changed", "User bob: is_active changed"),
        ("token_created", "API token created for bob"),
        ("token_revoked", "API token of bob revoked"),
        ("user_deleted", "User bob deleted"),
    ]
    created = AuditEntry.objects.get(kind=Kind.USER_CREATED, target="bob")
    assert (created.username, created.door, created.address) == ("root", "admin", "10.5.5.5")
    assert key not in str(list(AuditEntry.objects.values_list("summary", "detail")))
