"""API tokens are stored hashed, shown once, may expire, record their last use (issue 24)."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.models import ApiToken
from portal.tokens import api_token_create
from tests.factories import UserFactory


@pytest.fixture
def operator_user(db):
    return UserFactory(username="integrator", role="Operator")


def get_calls(client, key):
    return client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}")


def test_the_key_is_never_stored(operator_user):
    token, key = api_token_create(user=operator_user, name="CRM")
    row = ApiToken.objects.get(pk=token.pk)
    assert key not in row.digest and row.digest != key
    assert row.token_key == key[: len(row.token_key)] and len(row.token_key) < len(key)
    stored = " ".join(str(v) for v in ApiToken.objects.values_list("digest", "token_key", "name").get())
    assert key not in stored


def test_a_token_authenticates_and_records_its_last_use(client, operator_user):
    token, key = api_token_create(user=operator_user)
    assert token.last_used_at is None
    assert get_calls(client, key).status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    # Used again at once: no second write within the minute.
    assert get_calls(client, key).status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_an_expired_token_is_refused(client, operator_user):
    token, key = api_token_create(user=operator_user, expires_in=timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    response = get_calls(client, key)
    assert response.status_code == 401 and "message" in response.json()


def test_drf_create_token_prints_a_usable_key(client, operator_user):
    out = StringIO()
    call_command("drf_create_token", "integrator", stdout=out)
    key = out.getvalue().split("Generated token ")[1].split()[0]
    assert get_calls(client, key).status_code == 200
    assert not ApiToken.objects.filter(digest=key).exists()
    # --reset revokes the old key.
    out2 = StringIO()
    call_command("drf_create_token", "integrator", "--reset", "--expires-days", "30", stdout=out2)
    new_key = out2.getvalue().split("Generated token ")[1].split()[0]
    assert get_calls(client, key).status_code == 401
    assert get_calls(client, new_key).status_code == 200
    assert ApiToken.objects.get(user=operator_user).expiry > timezone.now() + timedelta(days=29)


def test_administrators_create_tokens_in_the_admin_and_see_the_key_once(client, operator_user, administrator):
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    response = client.post("/admin/portal/apitoken/add/",
                           {"user": operator_user.pk, "name": "wallboard", "expires_in_days": "7"}, follow=True)
    assert response.status_code == 200
    message = next(str(m) for m in response.context["messages"] if "copy it now" in str(m))
    key = message.split(": ")[1].split(" ")[0]
    token = ApiToken.objects.get(name="wallboard")
    assert token.user == operator_user and token.expiry > timezone.now() + timedelta(days=6)
    other = client.__class__()
    assert get_calls(other, key).status_code == 200
    # Neither the list nor the token's page shows the key again.
    listing = client.get("/admin/portal/apitoken/").content.decode()
    detail = client.get(f"/admin/portal/apitoken/{token.pk}/change/").content.decode()
    assert key not in listing and key not in detail
    assert token.token_key in listing
    # Revoking: deleting the row.
    client.post(f"/admin/portal/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert get_calls(other, key).status_code == 401


def test_an_operator_cannot_manage_tokens(client, operator_user):
    operator_user.is_staff = True
    operator_user.save()
    client.force_login(operator_user)
    assert client.get("/admin/portal/apitoken/").status_code == 403


def test_old_plaintext_tokens_are_migrated_to_digests(db):
    """The data migration's function on a DRF token: same key keeps working, plaintext gone."""
    from django.apps import apps
    from importlib import import_module
    from rest_framework.authtoken.models import Token

    user = UserFactory(username="legacy", role="Viewer")
    old = Token.objects.create(user=user)
    import_module("portal.migrations.0005_api_token").hash_existing_tokens(apps, None)
    assert not Token.objects.exists()
    from django.test import Client

    assert get_calls(Client(), old.key).status_code == 200
