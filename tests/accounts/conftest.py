"""Fixtures for sign-in tests: a local OpenID Connect provider and the portal configured to use it."""
from urllib.parse import urlsplit

import pytest
import requests

from accounts import oidc
from tests.accounts.oidc_provider import FakeProvider

ROLE_MAP = {"portal-admins": "Administrator", "portal-sup": "Supervisor", "portal-ops": "Operator", "staff": "Viewer"}


@pytest.fixture
def provider():
    with FakeProvider() as running:
        yield running


@pytest.fixture
def company_sign_in(settings, provider):
    """The portal configured for the provider by its issuer alone (endpoints from discovery)."""
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_PROVIDER_NAME = "Acme"
    settings.OIDC_ROLE_MAP = ROLE_MAP
    settings.OIDC_TIMEOUT = 5
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.oidc.CompanyOIDCBackend"]
    oidc.discover.cache_clear()
    yield provider
    oidc.discover.cache_clear()


def sign_in_with_provider(client, provider, next_url: str | None = None):
    """The browser's round trip: the portal's redirect, the provider's answer, the portal's callback."""
    start = client.get("/oidc/authenticate/", {"next": next_url} if next_url else {})
    assert start.status_code == 302, start
    assert start["Location"].startswith(f"{provider.issuer}/authorize?")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/oidc/callback/"
    return client.get(f"{back.path}?{back.query}")
