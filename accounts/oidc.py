"""Sign-in with the company's OpenID Connect provider: mozilla-django-oidc, with discovery and stricter ID tokens.

mozilla-django-oidc runs the authorization-code flow (state, nonce, PKCE) and fetches the provider's keys;
this module adds what it leaves out: endpoints found from the issuer's discovery document, the ID token's
audience, issuer and expiry checked, users matched by subject (never by e-mail), and a failure shown on
the sign-in page instead of a 400 or a 500.
"""
import functools
import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import services

logger = logging.getLogger(__name__)

# mozilla-django-oidc's setting -> the discovery document's field (OpenID Connect Discovery 1.0, section 3).
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or does not describe the configured issuer."""


def oidc_enabled() -> bool:
    """On when a client id is set and either the issuer or every endpoint is."""
    if not settings.OIDC_RP_CLIENT_ID:
        return False
    return bool(settings.OIDC_ISSUER) or all(getattr(settings, name, "") for name in DISCOVERED)


@functools.lru_cache(maxsize=4)
def discover(issuer: str, timeout: float) -> dict:
    """The issuer's discovery document, read once per process (a failure is not cached)."""
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"cannot read {url}: {exc}") from exc
    # The document must name the issuer it was fetched for (Discovery 1.0, section 4.3).
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderUnavailable(f"{url} names issuer {document.get('issuer')!r}, not {issuer!r}")
    return document


def oidc_setting(attr, *default):
    """mozilla-django-oidc's setting, an endpoint left empty being read from the issuer's discovery document."""
    value = import_from_settings(attr, *default)
    if attr in DISCOVERED and not value and settings.OIDC_ISSUER:
        value = discover(settings.OIDC_ISSUER, settings.OIDC_TIMEOUT).get(DISCOVERED[attr])
        if not value:
            raise ProviderUnavailable(f"the discovery document has no {DISCOVERED[attr]}")
    return value


class CompanyOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the provider's callback; users found by (issuer, subject), their role from the groups claim."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django builds every backend for every sign-in, password ones included: the provider's endpoints
        # are resolved only when its callback arrives, so a provider outage cannot break password sign-in.
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs or not oidc_enabled():
            return None
        super().__init__()
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        """The signature, and also the audience, issuer and expiry that mozilla-django-oidc does not check."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER or None,
                options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iss": bool(settings.OIDC_ISSUER)},
                leeway=60,
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        # The userinfo answer must be about the person the ID token names (OpenID Connect Core 5.3.2).
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo sub differs from the ID token's")
        try:
            return services.company_user_sign_in(issuer=payload["iss"], claims={**payload, **userinfo})
        except services.NoPortalRole:
            self.request.company_sign_in_refusal = (
                f"Your {settings.OIDC_PROVIDER_NAME} account is in no group that gives a portal role. "
                "Ask an Administrator."
            )
            return None


class CompanySignInView(OIDCAuthenticationRequestView):
    """Starts the sign-in: a redirect to the provider's authorization endpoint (with state, nonce and PKCE)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        View.__init__(self, *args, **kwargs)  # endpoints resolved per request, below, not at URL loading

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Company sign-in is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as exc:
            logger.warning("company sign-in unavailable: %s", exc)
            messages.error(request, f"Sign-in with {settings.OIDC_PROVIDER_NAME} is unavailable right now.")
            return redirect("login")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CompanyCallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: signs the person in, or back to the sign-in page saying why not."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Company sign-in is not configured.")
        try:
            return super().get(request)
        except (SuspiciousOperation, ProviderUnavailable, requests.RequestException, ValueError) as exc:
            # A forged or replayed callback, a bad ID token, or the provider down: a failed sign-in, not a 500.
            logger.warning("company sign-in failed: %s", exc)
            user_login_failed.send(sender=type(self), credentials={"provider": settings.OIDC_PROVIDER_NAME},
                                   request=request)
            return self.login_failure()

    def login_failure(self):
        reason = getattr(self.request, "company_sign_in_refusal", None)
        if reason is None and self.request.GET.get("error"):
            reason = f"{settings.OIDC_PROVIDER_NAME} did not sign you in ({self.request.GET['error'][:100]})."
        messages.error(self.request, reason or f"Sign-in with {settings.OIDC_PROVIDER_NAME} failed; try again.")
        return redirect("login")
