"""The System page in a real browser against a real stack: live checks from real heartbeats, re-polled."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import logged_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def administrator(stack):
    stack.manage("shell", "-c", (
        "from django.contrib.auth.models import Group; from django.contrib.auth import get_user_model; "
        "u = get_user_model().objects.create_user('sysadmin', password='pass-word-123', is_staff=True); "
        "u.groups.add(Group.objects.get(name='Administrator'))"
    ))
    return "sysadmin"


def test_system_page_shows_the_running_worker_and_beat_and_refreshes_itself(browser, stack, administrator, tmp_path):
    with logged_in(browser, stack.base_url, administrator) as page:
        page.click("nav.mainnav >> text=System")
        page.wait_for_url(f"{stack.base_url}/system/")
        # The stack's worker and its embedded beat write real heartbeats; the panel re-polls until ready.
        page.wait_for_selector("#system-panel h2 .badge.ok:has-text('ready')", timeout=30_000)
        for check in ("database", "migrations", "workers", "beat"):
            assert page.locator(f"tr[data-check='{check}'] .badge").inner_text() == "ok"
        workers = page.locator("tr[data-worker]")
        assert workers.count() == 1
        assert re.search(r"celery, commands, downloads, events, sync", workers.first.inner_text())
        assert page.locator("li[data-queue='downloads'] .badge.ok").count() == 1
        # This page's socket, at most: the previous page's closes as the browser leaves it, and the
        # server may count that close a moment after this panel was first drawn (the panel re-polls).
        expect(page.locator("[data-counter='live_sockets'] .value")).to_have_text(re.compile(r"^[01]$"), timeout=15_000)
        page.screenshot(path=str(tmp_path / "system.png"), full_page=True)

        # Something changes elsewhere: the panel shows it without a reload. (`sync_telnyx` is a sync the
        # stack's own beat never runs, so nothing overwrites what this records.)
        stack.manage("shell", "-c", "from portal.sync import record_sync; record_sync('sync_telnyx', 'failed', error='Telnyx answered 503')")
        page.wait_for_selector("tr[data-sync='sync_telnyx'] .badge.failed", timeout=15_000)
        assert "Telnyx answered 503" in page.locator("tr[data-sync='sync_telnyx']").inner_text()


def test_operators_have_no_system_link_and_are_refused(page, stack):
    assert page.locator("nav.mainnav >> text=System").count() == 0
    response = page.goto(f"{stack.base_url}/system/")
    assert response.status == 403
    # The refusal is expected (Chromium logs the 403 as a console error): the page explains it (issue 31).
    page.console_errors[:] = [e for e in page.console_errors if "status of 403" not in e]
    expect(page.locator("h1")).to_have_text("This page is not open to your role")
    expect(page.locator("main")).to_contain_text("The System page (health, backlogs, workers) is for Administrators.")
