"""Company sign-in through OpenID Connect against a provider served on loopback by the test (issue 24)."""
import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts.models import CompanyIdentity
from accounts.services import role_for_groups
from tests.accounts.conftest import sign_in_with_provider
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def roles(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def signed_in_user(client):
    return client.session.get("_auth_user_id")


def test_login_page_offers_the_company_only_when_configured(client, settings, provider):
    page = client.get("/login/")
    assert page.status_code == 200 and b"Sign in with" not in page.content
    assert client.get("/oidc/authenticate/").status_code == 404
    settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID, settings.OIDC_PROVIDER_NAME = provider.issuer, "x", "Acme"
    page = client.get("/login/?next=/calls/")
    assert b"Sign in with Acme" in page.content
    assert b'href="/oidc/authenticate/?next=/calls/"' in page.content
    assert b'name="password"' in page.content  # password sign-in stays (make run, break-glass accounts)


def test_first_sign_in_creates_the_user_with_the_mapped_role(client, company_sign_in):
    provider = company_sign_in
    provider.person = {"sub": "u-7", "preferred_username": "dana", "email": "dana@acme.test",
                       "given_name": "Dana", "groups": ["staff", "portal-sup", "unrelated"]}
    seen = []
    user_logged_in.connect(lambda sender, user, **kw: seen.append(user.username), weak=False, dispatch_uid="t1")
    try:
        response = sign_in_with_provider(client, provider, next_url="/calls/")
    finally:
        user_logged_in.disconnect(dispatch_uid="t1")
    assert response.status_code == 302 and response["Location"] == "/calls/"
    user = User.objects.get(username="dana")
    assert signed_in_user(client) == str(user.pk) and seen == ["dana"]
    assert roles(user) == ["Supervisor"]  # the highest role the groups map to
    assert (user.email, user.first_name, user.is_staff, user.has_usable_password()) == ("dana@acme.test", "Dana", False, False)
    identity = CompanyIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject, identity.groups) == (provider.issuer, "u-7", ["staff", "portal-sup", "unrelated"])
    assert client.get("/calls/").status_code == 200
    # What the provider was asked: an authorization with state, nonce and an S256 PKCE challenge; a token
    # request with the client's secret and the verifier matching that challenge.
    authorize = provider.requested("/authorize")[0]
    assert authorize["scope"] == "openid email profile" and authorize["code_challenge_method"] == "S256"
    assert authorize["redirect_uri"] == "http://testserver/oidc/callback/" and authorize["nonce"]
    token = provider.requested("/token")[0]
    assert token["client_secret"] == provider.client_secret and token["grant_type"] == "authorization_code"
    digest = hashlib.sha256(token["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == authorize["code_challenge"]


def test_role_is_resynced_at_every_sign_in_and_lost_with_the_groups(client, company_sign_in):
    provider = company_sign_in
    provider.person = {"sub": "u-8", "preferred_username": "eli", "groups": ["portal-ops"]}
    sign_in_with_provider(client, provider)
    user = User.objects.get(username="eli")
    assert roles(user) == ["Operator"] and not user.is_staff
    user.groups.add(user.groups.model.objects.get(name="Viewer"))  # a role given by hand is not kept either

    client.post("/logout/")
    provider.person["groups"] = ["portal-admins"]
    sign_in_with_provider(client, provider)
    user.refresh_from_db()
    assert roles(user) == ["Administrator"] and user.is_staff
    assert User.objects.filter(username__startswith="eli").count() == 1  # the same user, found by subject

    client.post("/logout/")
    provider.person["groups"] = ["unrelated"]
    response = sign_in_with_provider(client, provider)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_user(client) is None
    user.refresh_from_db()
    assert roles(user) == [] and not user.is_staff
    page = client.get("/login/")
    assert b"in no group that gives a portal role" in page.content


def test_nobody_is_created_for_a_person_without_a_mapped_group(client, company_sign_in):
    company_sign_in.person = {"sub": "u-9", "preferred_username": "finn", "groups": ["sales"]}
    response = sign_in_with_provider(client, company_sign_in)
    assert response["Location"] == "/login/" and signed_in_user(client) is None
    assert not User.objects.filter(username="finn").exists() and not CompanyIdentity.objects.exists()
    assert AccessAttempt.objects.get(ip_address="127.0.0.1").failures_since_start == 1  # axes counted it


def test_a_provider_account_never_takes_over_a_password_account_of_the_same_name_or_email(client, company_sign_in):
    breakglass = UserFactory(username="root", email="root@acme.test", role="Administrator", is_superuser=True)
    company_sign_in.person = {"sub": "u-10", "preferred_username": "root", "email": "root@acme.test",
                              "groups": ["staff"]}
    sign_in_with_provider(client, company_sign_in)
    newcomer = User.objects.get(pk=signed_in_user(client))
    assert newcomer.pk != breakglass.pk and newcomer.username.startswith("root-")
    assert roles(newcomer) == ["Viewer"]
    breakglass.refresh_from_db()
    assert roles(breakglass) == ["Administrator"] and breakglass.is_superuser and breakglass.has_usable_password()


@pytest.mark.parametrize(
    "tamper",
    [
        {"aud": "another-client"},
        {"iss": "http://127.0.0.1:1/elsewhere"},
        {"exp": 1_000_000},
        {"nonce": "replayed-nonce"},
        "foreign-key",
    ],
    ids=["audience", "issuer", "expired", "nonce", "signature"],
)
def test_an_id_token_the_portal_should_not_trust_signs_nobody_in(client, company_sign_in, tamper):
    provider = company_sign_in
    provider.person = {"sub": "u-11", "preferred_username": "gus", "groups": ["portal-admins"]}
    if tamper == "foreign-key":
        provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        provider.id_token_changes = tamper
    response = sign_in_with_provider(client, provider)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_user(client) is None and not User.objects.filter(username="gus").exists()
    assert "failed" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert AccessAttempt.objects.get(ip_address="127.0.0.1").failures_since_start == 1  # axes counted it


def test_a_forged_or_replayed_callback_is_refused_without_an_error_page(client, company_sign_in):
    provider = company_sign_in
    provider.person = {"sub": "u-12", "preferred_username": "hal", "groups": ["staff"]}
    start = client.get("/oidc/authenticate/")
    back = requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"]
    query = parse_qs(urlsplit(back).query)
    forged = client.get("/oidc/callback/", {"code": query["code"][0], "state": "not-the-state"})
    assert forged.status_code == 302 and forged["Location"] == "/login/" and signed_in_user(client) is None
    assert client.get(back).status_code == 302 and signed_in_user(client) is not None
    client.post("/logout/")
    replay = client.get(back)  # the state was spent, and the provider would not take the code twice
    assert replay.status_code == 302 and replay["Location"] == "/login/" and signed_in_user(client) is None
    assert len(provider.requested("/token")) == 1
    for junk in ({"error": "access_denied"}, {"code": "x"}, {"state": "y" * 5000}, {}):
        assert client.get("/oidc/callback/", junk).status_code == 302


def test_a_provider_that_is_down_leaves_password_sign_in_working(client, company_sign_in, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "unavailable" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    UserFactory(username="breakglass", role="Administrator")
    signed_in = client.post("/login/", {"username": "breakglass", "password": "pass-word-123"})
    assert signed_in.status_code == 302 and signed_in_user(client) is not None


def test_a_discovery_document_for_another_issuer_is_refused(client, company_sign_in, settings):
    settings.OIDC_ISSUER = company_sign_in.issuer + "/realms/other"  # the document there names another issuer
    assert client.get("/oidc/authenticate/")["Location"] == "/login/"


def test_endpoints_can_be_configured_one_by_one_without_an_issuer(client, company_sign_in, settings):
    provider = company_sign_in
    settings.OIDC_ISSUER = ""
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.issuer}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.issuer}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.issuer}/jwks"
    provider.person = {"sub": "u-13", "preferred_username": "ivy", "groups": ["portal-ops"]}
    assert sign_in_with_provider(client, provider).status_code == 302
    assert roles(User.objects.get(username="ivy")) == ["Operator"]
    assert provider.requested("/.well-known/openid-configuration") == []


def test_company_sign_ins_are_exempt_from_the_second_factor(client, company_sign_in, settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    company_sign_in.person = {"sub": "u-14", "preferred_username": "jo", "groups": ["portal-admins"]}
    sign_in_with_provider(client, company_sign_in)
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/account/two-factor/enrol/").status_code == 404  # the provider owns the factors


def test_role_map_and_its_checks():
    assert role_for_groups(["staff", "portal-ops"]) is None  # no map configured in the test settings


def test_role_map_picks_the_highest_role(settings):
    settings.OIDC_ROLE_MAP = {"a": "Viewer", "b": "Administrator", "c": "Operator"}
    assert role_for_groups(["c", "a"]) == "Operator"
    assert role_for_groups(["a", "b", "c"]) == "Administrator"
    assert role_for_groups(["zzz"]) is None


def test_check_reports_a_role_map_naming_no_role(settings):
    settings.OIDC_ROLE_MAP = {"portal-admins": "Admins"}
    with pytest.raises(SystemCheckError, match="accounts.E001"):
        call_command("check")
    settings.OIDC_ROLE_MAP = {"portal-admins": "Administrator"}
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "id", ""
    with pytest.raises(SystemCheckError, match="accounts.E002"):
        call_command("check")


def test_a_first_sign_in_that_loses_a_race_finds_the_winner_s_user(company_sign_in, monkeypatch):
    from django.db import IntegrityError

    from accounts import services

    claims = {"sub": "u-15", "preferred_username": "kim", "groups": ["staff"]}
    real_sync = services._identity_sync
    calls = []

    def other_tab_commits_first(**kwargs):
        calls.append(kwargs["subject"])
        if len(calls) == 1:  # the other tab's transaction committed this person a moment before ours
            winner = User.objects.create_user(username="kim")
            CompanyIdentity.objects.create(user=winner, issuer=kwargs["issuer"], subject="u-15",
                                           last_sign_in_at="2026-01-01T00:00Z")
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_sync(**kwargs)

    monkeypatch.setattr(services, "_identity_sync", other_tab_commits_first)
    user = services.company_user_sign_in(issuer=company_sign_in.issuer, claims=claims)
    assert calls == ["u-15", "u-15"]
    assert user.username == "kim" and User.objects.filter(username__startswith="kim").count() == 1
    assert CompanyIdentity.objects.get().user == user and roles(user) == ["Viewer"]
