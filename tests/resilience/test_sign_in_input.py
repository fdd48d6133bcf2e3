"""Bad input at the sign-in doors (issue 24): the second-factor step, enrolment and company sign-in's callback
answer a form error or a redirect, never a 5xx, and sign nobody in."""
import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.oidc_provider import FakeProvider
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JUNK = ["", " ", "0", "abcdef", "1234567", "-12345", "１２３４５６", "' OR 1=1 --", "\x00\x01", "x" * 5000,
        "<script>", "%s%s%n", "12 34 56", "\u202e654321", "None", "[]", "{}", "1e6", "0x1F", "🔑" * 8]


@pytest.mark.resilience("Sign-in: bad codes and callbacks")
def test_bad_codes_and_callbacks_never_answer_5xx_or_sign_in(client, settings, resilience):
    user = UserFactory(username="olga", role="Administrator")
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    settings.REQUIRE_2FA_FOR_ADMINS = True
    server_errors, signed_in = 0, 0
    with FakeProvider() as provider:
        settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID = provider.issuer, provider.client_id
        settings.OIDC_RP_CLIENT_SECRET, settings.OIDC_ROLE_MAP = provider.client_secret, {"g": "Viewer"}
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.oidc.CompanyOIDCBackend"]
        callback = client.__class__()
        for junk in JUNK:
            TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
            client.post("/login/", {"username": "olga", "password": "pass-word-123"})
            answers = [
                client.post("/login/verify/", {"code": junk, "next": junk}),
                client.get("/login/verify/", {"next": junk}),
                callback.get("/oidc/callback/", {"code": junk, "state": junk}),
                callback.get("/oidc/callback/", {"error": junk, "state": junk}),
            ]
            server_errors += sum(answer.status_code >= 500 for answer in answers)
            signed_in += client.get("/").status_code == 200  # the code step never passed
            signed_in += "_auth_user_id" in callback.session
            client.post("/logout/")
            resilience.tried(len(answers))
    resilience.server_errors(server_errors)
    assert server_errors == 0 and signed_in == 0
