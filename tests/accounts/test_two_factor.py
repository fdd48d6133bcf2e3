"""Two-factor sign-in for password accounts: enrolment, the step after the password, recovery codes (issue 24)."""
import base64
import re
import time
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from channels.testing import WebsocketCommunicator
from django.contrib.auth.signals import user_login_failed
from django.test import RequestFactory
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.admin_site import PortalAdminSite
from accounts.signals import second_factor
from portal.tokens import api_token_create
from tests.accounts.totp import totp
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pass-word-123"


def password_sign_in(client, username, path="/login/"):
    response = client.post(path, {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response
    return response


def enrol(client) -> tuple[str, list[str]]:
    """Enrol through the pages as a person would: read the key off the page, type the app's code."""
    page = client.get("/account/two-factor/enrol/")
    assert page.status_code == 200
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.content).group(1).decode()
    uri = re.search(rb'id="otpauth-uri">([^<]+)<', page.content).group(1).decode()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and b"<svg" in page.content
    done = client.post("/account/two-factor/enrol/", {"code": totp(secret)})
    assert done.status_code == 200
    codes = re.findall(rb"<li><code>([a-z2-7]+)</code></li>", done.content)
    return secret, [code.decode() for code in codes]


def secret_of(user) -> str:
    return base64.b32encode(TOTPDevice.objects.get(user=user, confirmed=True).bin_key).decode()


@pytest.fixture
def signals_seen():
    seen = []

    def record(sender, kind, user, **kwargs):
        seen.append(kind)

    second_factor.connect(record, dispatch_uid="test-two-factor")
    yield seen
    second_factor.disconnect(dispatch_uid="test-two-factor")


@pytest.fixture
def enrolled(client):
    """An Operator who enrolled an authenticator; their recovery codes; then signed out."""
    user = UserFactory(username="olga", role="Operator")
    password_sign_in(client, "olga")
    secret, codes = enrol(client)
    client.post("/logout/")
    TOTPDevice.objects.filter(user=user).update(last_t=-1)  # let the test reuse this time step's code
    return user, secret, codes


def test_enrolment_shows_the_key_and_a_code_from_it_confirms_it(client, signals_seen):
    user = UserFactory(username="olga", role="Operator")
    password_sign_in(client, "olga")
    page = client.get("/account/two-factor/enrol/")
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.content).group(1).decode()
    wrong = client.post("/account/two-factor/enrol/", {"code": "000000" if totp(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and b"That code is not right" in wrong.content
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert client.get("/account/two-factor/enrol/").content.count(secret.encode()) >= 1  # the same key until confirmed
    done = client.post("/account/two-factor/enrol/", {"code": totp(secret)})
    codes = re.findall(rb"<li><code>([a-z2-7]+)</code></li>", done.content)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert secret_of(user) == secret
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert client.session[two_factor.STATE_SESSION_KEY] == "verified"
    assert signals_seen == ["enrolled", "recovery_codes_created"]
    assert b"On: an authenticator app" in client.get("/account/two-factor/").content


def test_after_the_password_nothing_opens_until_the_code_is_given(client, enrolled, signals_seen):
    user, secret, _ = enrolled
    password_sign_in(client, "olga")
    session_before = client.session.session_key
    for path in ("/", "/calls/", "/account/two-factor/", "/account/two-factor/enrol/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/verify/"), path
    step = client.get("/login/verify/?next=/calls/")
    assert step.status_code == 200 and b'name="code"' in step.content
    assert b"ws-connect" not in step.content and b'class="mainnav"' not in step.content  # no menu, no socket
    api = client.get("/api/v1/calls/")
    assert api.status_code == 403 and "Two-factor" in api.json()["message"]
    # Another kind of Authorization header must not let the session through either.
    assert client.get("/api/v1/calls/", HTTP_AUTHORIZATION="Basic b2xnYTpwYXNzLXdvcmQtMTIz").status_code in (401, 403)

    failures = []
    user_login_failed.connect(lambda sender, credentials, **kw: failures.append(credentials), weak=False,
                              dispatch_uid="t-fail")
    try:
        wrong = client.post("/login/verify/", {"code": "12345" + str((int(totp(secret)[-1]) + 1) % 10), "next": "/calls/"})
    finally:
        user_login_failed.disconnect(dispatch_uid="t-fail")
    assert wrong.status_code == 200 and b"That code is not right" in wrong.content
    assert failures == [{"username": "olga"}]
    assert AccessAttempt.objects.get(username="olga").failures_since_start == 1  # counted by django-axes
    assert client.get("/").status_code == 302

    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    right = client.post("/login/verify/", {"code": totp(secret), "next": "/calls/"})
    assert right.status_code == 302 and right["Location"] == "/calls/"
    assert client.session.session_key != session_before  # a new session key once verified
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and b"ws-connect" in dashboard.content
    assert client.get("/api/v1/calls/").status_code == 200
    assert signals_seen == ["failed", "verified"]


def test_a_code_is_good_once_and_wrong_codes_are_throttled(client, enrolled):
    user, secret, _ = enrolled
    password_sign_in(client, "olga")
    code = totp(secret)
    assert client.post("/login/verify/", {"code": code})["Location"] == "/"
    client.post("/logout/")
    password_sign_in(client, "olga")
    replay = client.post("/login/verify/", {"code": code})
    assert replay.status_code == 200 and b"That code is not right" in replay.content
    # django-otp's throttle: after a failure the next try waits (1 s, doubling), even with a right code.
    throttled = client.post("/login/verify/", {"code": totp(secret, at=time.time() + 30)})
    assert throttled.status_code == 200 and b"Too many wrong codes" in throttled.content
    assert client.get("/").status_code == 302


def test_each_recovery_code_signs_in_once(client, enrolled, signals_seen):
    user, _, codes = enrolled
    password_sign_in(client, "olga")
    assert client.post("/login/verify/", {"code": codes[0].upper()})["Location"] == "/"  # case and spaces forgiven
    assert StaticToken.objects.filter(device__user=user).count() == 9
    client.post("/logout/")
    password_sign_in(client, "olga")
    assert b"That code is not right" in client.post("/login/verify/", {"code": codes[0]}).content
    with mock.patch("django_otp.plugins.otp_static.models.StaticDevice.verify_is_allowed", return_value=(True, None)):
        assert client.post("/login/verify/", {"code": f" {codes[1][:4]} {codes[1][4:]} "})["Location"] == "/"
    assert signals_seen == ["recovery_code_used", "failed", "recovery_code_used"]


def test_new_recovery_codes_replace_the_old_ones(client, enrolled):
    user, secret, old = enrolled
    password_sign_in(client, "olga")
    client.post("/login/verify/", {"code": totp(secret)})
    fresh = client.post("/account/two-factor/recovery-codes/")
    new = re.findall(rb"<li><code>([a-z2-7]+)</code></li>", fresh.content)
    assert len(new) == 10
    stored = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert stored == {code.decode() for code in new} and not stored & set(old)


def test_only_a_verified_session_may_replace_the_authenticator(client, enrolled):
    user, secret, _ = enrolled
    password_sign_in(client, "olga")
    # Knowing the password is not enough to swap in one's own authenticator.
    assert client.get("/account/two-factor/enrol/")["Location"].startswith("/login/verify/")
    assert client.post("/account/two-factor/enrol/", {"code": "123456"})["Location"].startswith("/login/verify/")
    assert client.post("/account/two-factor/recovery-codes/")["Location"].startswith("/login/verify/")
    assert TOTPDevice.objects.filter(user=user).count() == 1 and secret_of(user) == secret


def test_wrong_codes_lock_the_account_like_wrong_passwords(client, enrolled, settings):
    user, secret, _ = enrolled
    password_sign_in(client, "olga")
    wrong = "000000" if totp(secret) != "000000" else "111111"
    with mock.patch("django_otp.plugins.otp_totp.models.TOTPDevice.verify_is_allowed", return_value=(True, None)):
        statuses = [client.post("/login/verify/", {"code": wrong}).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert "_auth_user_id" not in client.session  # signed out
    locked = client.post("/login/", {"username": "olga", "password": PASSWORD})
    assert locked.status_code == 429


def test_api_tokens_are_unaffected(client, enrolled):
    user, _, _ = enrolled
    _, key = api_token_create(user=user)
    assert client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    password_sign_in(client, "olga")  # a half-finished session beside it changes nothing for the token
    assert client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_administrators_must_enrol_when_required(client, settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    admin = UserFactory(username="ada", role="Administrator")
    _, key = api_token_create(user=admin)
    password_sign_in(client, "ada")
    for path in ("/", "/system/", "/admin/", "/account/two-factor/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/account/two-factor/enrol/"), path
    assert client.get("/api/v1/calls/").status_code == 403
    assert client.get("/api/v1/calls/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert client.get("/login/verify/")["Location"] == "/account/two-factor/enrol/"
    page = client.get("/account/two-factor/enrol/")
    assert b"Administrators must set up two-factor sign-in" in page.content
    enrol(client)
    assert client.get("/").status_code == 200 and client.get("/admin/").status_code == 200


def test_others_are_not_required_to_enrol(client, settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    UserFactory(username="otto", role="Operator")
    password_sign_in(client, "otto")
    assert client.get("/").status_code == 200
    assert b"Set up an authenticator app" in client.get("/account/two-factor/").content


def test_the_admin_login_does_not_bypass_the_second_factor(client, enrolled):
    user, secret, _ = enrolled
    response = password_sign_in(client, "olga", path="/admin/login/?next=/admin/")
    assert response["Location"] == "/admin/"
    followed = client.get("/admin/")
    assert followed.status_code == 302 and followed["Location"].startswith("/login/verify/?next=%2Fadmin%2F")
    # The admin site itself also refuses the half-finished session (django-otp's OTPAdminSite rule).
    request = RequestFactory().get("/admin/")
    request.user, request.session = user, client.session
    assert PortalAdminSite().has_permission(request) is False
    client.post("/login/verify/", {"code": totp(secret)})
    request.session = client.session
    assert PortalAdminSite().has_permission(request) is True


@pytest.mark.django_db(transaction=True)
def test_the_live_socket_refuses_a_session_owing_its_second_factor(client, enrolled):
    from portal.asgi import application

    user, secret, _ = enrolled
    password_sign_in(client, "olga")
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def opens() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/live/?subscribe=dashboard",
                                             headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)])
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(opens)() is False
    client.post("/login/verify/", {"code": totp(secret)})
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    assert async_to_sync(opens)() is True


def test_an_administrator_resets_a_lost_authenticator_in_the_admin_without_seeing_keys(client, enrolled):
    user, secret, codes = enrolled
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    boss = UserFactory(username="boss", role="Administrator")
    client.force_login(boss)
    listing = client.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200 and b"olga" in listing.content
    detail = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert detail.status_code == 200 and device.key.encode() not in detail.content
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    static = user.staticdevice_set.get()
    assert not any(code.encode() in client.get(f"/admin/otp_static/staticdevice/{static.pk}/change/").content
                   for code in codes)
    assert client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}).status_code == 302
    assert client.post(f"/admin/otp_static/staticdevice/{static.pk}/delete/", {"post": "yes"}).status_code == 302
    client.post("/logout/")
    password_sign_in(client, "olga")
    assert client.get("/").status_code == 200  # no device left: the password alone, until enrolled again


def test_an_operator_cannot_see_anyone_s_devices(client, enrolled):
    client.force_login(UserFactory(username="op2", role="Operator"))
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 403
