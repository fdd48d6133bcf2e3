"""Password and token guessing is slowed (issue 24): django-axes lockouts, DRF throttles with Retry-After."""
import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from rest_framework.throttling import UserRateThrottle

from portal.tokens import api_token_create
from tests.factories import UserFactory

PASSWORD = "Correct-Horse-9"


@pytest.fixture
def staff(db):
    user = UserFactory(username="alice")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="Operator"))
    return user


def sign_in(client, username, password, path="/login/", addr="10.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=addr)


def test_account_locked_after_five_failures_even_with_the_right_password(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "alice", "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, "alice", "wrong").status_code == 429  # the limit-th failure locks
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert b"Sign-in locked" in response.content and int(response["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session
    # From another address too: the account itself is locked.
    assert sign_in(client, "alice", PASSWORD, addr="10.9.9.9").status_code == 429


def test_address_locked_after_failures_on_several_accounts(client, staff, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{n}", "wrong", addr="10.0.0.7")
    assert sign_in(client, "alice", PASSWORD, addr="10.0.0.7").status_code == 429
    assert sign_in(client, "alice", PASSWORD, addr="10.0.0.8").status_code == 302  # another address is fine


def test_admin_login_counts_too(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong", path="/admin/login/")
    assert sign_in(client, "alice", PASSWORD).status_code == 429


def test_forwarded_for_is_not_believed_without_a_declared_proxy(client, staff, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": f"g{n}", "password": "x"}, REMOTE_ADDR="10.0.0.3",
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert sign_in(client, "alice", PASSWORD, addr="10.0.0.3").status_code == 429


def test_administrator_sees_and_lifts_a_lockout_in_the_admin(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong", addr="10.0.0.2")
    admin = UserFactory(username="boss", is_staff=True)
    admin.groups.add(Group.objects.get(name="Administrator"))
    admin_client = client.__class__()
    admin_client.force_login(admin)
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and b"alice" in listing.content
    attempt = AccessAttempt.objects.get(username="alice")
    response = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert sign_in(client, "alice", PASSWORD, addr="10.0.0.2").status_code == 302


def test_an_operator_cannot_see_lockouts(client, staff):
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get("/admin/axes/accessattempt/").status_code == 403


def test_api_token_guessing_locks_out_the_address(client, staff, settings):
    _, key = api_token_create(user=staff)
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        bad = client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token guess{n}", REMOTE_ADDR="10.0.0.5")
        assert bad.status_code == 401
    last_guess = client.get("/api/v1/calls/", HTTP_AUTHORIZATION="Token guess-last", REMOTE_ADDR="10.0.0.5")
    assert last_guess.status_code == 429 and last_guess.json()["message"].startswith("Too many failed")
    locked = client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="10.0.0.5")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "try again later" in locked.json()["message"]
    # The real key still works from another address; nothing about the guessed keys is stored.
    fine = client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="10.0.0.6")
    assert fine.status_code == 200
    assert not any("guess" in (a.get_data or "") + (a.post_data or "") for a in AccessAttempt.objects.all())


def test_api_throttles_a_user_with_retry_after(client, staff, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "3/minute", raising=False)
    _, key = api_token_create(user=staff)
    statuses = [client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    last = client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}")
    assert last.status_code == 429 and 0 < int(last["Retry-After"]) <= 60
    assert "throttled" in last.json()["message"].lower()
