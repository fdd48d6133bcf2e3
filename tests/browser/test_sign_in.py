"""Sign-in in a real browser against a real portal (daphne) and an OpenID Connect provider on loopback (issue 24):
"Sign in with Acme" all the way round, and an Administrator's enrolment, recovery codes and code step."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.accounts.oidc_provider import FakeProvider
from tests.accounts.totp import totp
from tests.browser.conftest import ROOT, free_port, wait_until_up, watched_context

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signin_stack(tmp_path_factory):
    """daphne with company sign-in on (the provider below) and REQUIRE_2FA_FOR_ADMINS=true."""
    data_dir = tmp_path_factory.mktemp("portal-sign-in")
    with FakeProvider() as provider:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            PORTAL_DATA_DIR=str(data_dir), DJANGO_DEBUG="true", TELNYX_BASE_URL="http://127.0.0.1:9/v2",
            OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=provider.client_id, OIDC_CLIENT_SECRET=provider.client_secret,
            OIDC_PROVIDER_NAME="Acme", OIDC_ROLE_MAP="portal-admins=Administrator,portal-sup=Supervisor",
            REQUIRE_2FA_FOR_ADMINS="true",
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--no-input"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*manage, "shell", "-c", (
            "from django.contrib.auth.models import Group; from django.contrib.auth import get_user_model; "
            "u = get_user_model().objects.create_user('ada', password='pass-word-123', is_staff=True); "
            "u.groups.add(Group.objects.get(name='Administrator'))"
        )], cwd=ROOT, env=env, check=True, capture_output=True)
        port = free_port()
        log = open(data_dir / "daphne.log", "w")
        daphne = subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                   "portal.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base_url}/login/", data_dir / "daphne.log", daphne)
            yield base_url, provider
        finally:
            daphne.terminate()
            try:
                daphne.wait(timeout=10)
            except subprocess.TimeoutExpired:  # an open live socket can hold daphne's shutdown
                daphne.kill()
                daphne.wait()
            log.close()


def test_sign_in_with_the_company_provider(browser, signin_stack):
    base_url, provider = signin_stack
    provider.person = {"sub": "u-77", "preferred_username": "carol", "email": "carol@acme.test", "groups": ["portal-sup"]}
    with watched_context(browser, base_url) as context:  # every page free of console errors (issue 31)
        page = context.new_page()
        page.goto("/calls/")  # sent to sign in, and back here afterwards
        page.click("text=Sign in with Acme")
        page.wait_for_url(f"{base_url}/calls/")
        expect(page.locator("details.usermenu summary")).to_have_text("carol")
        expect(page.locator("details.usermenu .muted")).to_have_text("Supervisor")
        assert len(provider.requested("/token")) == 1


def test_an_administrator_enrols_then_gives_a_recovery_code(browser, signin_stack, tmp_path):
    base_url, _ = signin_stack
    with watched_context(browser, base_url) as context:  # every page free of console errors (issue 31)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", "ada")
        page.fill("#id_password", "pass-word-123")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/account/two-factor/enrol/"))
        expect(page.locator("nav.mainnav")).to_have_count(0)
        expect(page.locator(".qr svg")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "enrol.png"), full_page=True)
        page.goto("/system/")  # nothing else opens
        page.wait_for_url(re.compile(r"/account/two-factor/enrol/"))
        page.fill("#id_code", totp(page.locator("#totp-secret").inner_text()))
        page.click("text=Confirm")
        # The codes page is a new document: wait for it rather than read the old one mid-navigation.
        expect(page.locator("#recovery-codes code")).to_have_count(10)
        codes = page.locator("#recovery-codes code").all_inner_texts()
        page.click("text=Continue")
        page.wait_for_url(f"{base_url}/system/")  # where they were going
        expect(page.locator("nav.mainnav >> text=System")).to_be_visible()

        page.click("details.usermenu summary")
        page.click("text=Log out")
        page.wait_for_url(re.compile(r"/login/"))
        page.fill("#id_username", "ada")
        page.fill("#id_password", "pass-word-123")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/login/verify/"))
        page.fill("#id_code", codes[0])
        page.click("text=Verify")
        page.wait_for_url(f"{base_url}/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15_000)
