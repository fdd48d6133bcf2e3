"""End to end in Chromium: state changed from outside shows up on open pages without a reload."""
import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_dashboard_counter_updates_live(page, stack):
    counter = page.locator('[data-counter="active_conferences"] .value')
    before = int(counter.inner_text())
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    page.evaluate("window.__marker = 'same page'")
    conference_id = f"conf-{uuid.uuid4().hex[:8]}"
    assert stack.post_webhook(
        "conference.created", str(uuid.uuid4()), "2026-11-23T09:00:00Z", conference_id=conference_id, connection_id="c"
    ) == 200
    expect(counter).to_have_text(str(before + 1), timeout=20000)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    expect(page.locator("#last-update")).to_have_text(re.compile("updated"))


def test_participant_joining_appears_on_open_conference_page(page, stack):
    conference_id = f"conf-{uuid.uuid4().hex[:8]}"
    stack.post_webhook("conference.created", str(uuid.uuid4()), "2026-11-23T09:00:00Z", conference_id=conference_id)
    # The worker applies the event moments after Telnyx's delivery is answered.
    for _ in range(100):  # polled aside: a 404 page would log a console error
        if page.request.get(f"/conferences/{conference_id}/").status == 200:
            break
        page.wait_for_timeout(200)
    page.goto(f"/conferences/{conference_id}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    expect(page.locator("#roster")).to_have_count(0)
    page.evaluate("window.__marker = 'same page'")
    stack.post_webhook(
        "conference.participant.joined", str(uuid.uuid4()), "2026-11-23T09:01:00Z",
        conference_id=conference_id, call_control_id="v3:browser-alice", call_leg_id="leg-a",
    )
    row = page.locator('tr[data-call-control-id="v3:browser-alice"]')
    expect(row).to_be_visible(timeout=20000)
    expect(row).to_contain_text("Joined")
    expect(row.get_by_role("button", name="Mute")).to_be_visible()  # an Operator is offered controls
    assert page.evaluate("window.__marker") == "same page"
