"""Listening in from a call's page (issue 28), in Chromium, under `make run` against the sandbox: the new leg
rings onto the call, shows up answered on the page live, its role is switched live, and the number is remembered."""
import pytest
from playwright.sync_api import expect

from tests.browser.test_make_run_sandbox import admin_page, portal_with_sandbox  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]
MY_PHONE = "+15557770000"


def test_listen_in_from_a_call_page(admin_page, portal_with_sandbox):  # noqa: F811
    agent = portal_with_sandbox.sandbox_post("/_sandbox/calls", {"from": "+15551112222", "to": "+15553334444"})
    agent = agent["data"]["call_control_id"]
    for _ in range(100):  # polled aside: a 404 page would log a console error
        if admin_page.request.get(f"/calls/{agent}/").status == 200:
            break
        admin_page.wait_for_timeout(200)
    admin_page.goto(f"/calls/{agent}/")
    expect(admin_page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    admin_page.evaluate("window.__marker = 'same page'")
    errors = []
    admin_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    admin_page.fill("#listen-in-to", MY_PHONE)
    admin_page.select_option("#listen-in-role", "whisper")
    admin_page.get_by_role("button", name="Listen in").click()

    # The sandbox rings the phone and answers; the leg appears on the open page by itself.
    row = admin_page.locator("#listeners tr[data-call-control-id]")
    expect(row).to_contain_text(MY_PHONE, timeout=20000)
    expect(row.locator("[data-listener-state]")).to_contain_text("Answered", timeout=20000)
    expect(row.locator("[data-listener-role]")).to_have_text("whisper")
    dials = [r for r in portal_with_sandbox.sandbox_get("/_sandbox/requests") if r["path"] == "/calls"]
    assert (dials[-1]["body"]["supervise_call_control_id"], dials[-1]["body"]["supervisor_role"]) == (agent, "whisper")

    row.locator('select[name="role"]').select_option("barge")
    row.get_by_role("button", name="Switch role").click()
    expect(row.locator("[data-listener-role]")).to_have_text("barge", timeout=20000)
    leg = row.get_attribute("data-call-control-id")
    switches = [r for r in portal_with_sandbox.sandbox_get("/_sandbox/requests")
                if r["path"] == f"/calls/{leg}/actions/switch_supervisor_role"]
    assert switches and switches[-1]["body"] == {"role": "barge"}
    assert admin_page.evaluate("window.__marker") == "same page"  # all of it live, no reload
    assert errors == []

    admin_page.reload()
    expect(admin_page.locator("#listen-in-to")).to_have_value(MY_PHONE)  # remembered in the profile
