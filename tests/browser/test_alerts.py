"""End to end in Chromium: an alert appears in the banner of an open page live, is acknowledged from it, and goes (issue 26)."""
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def test_the_banner_shows_an_alert_live_acknowledges_it_and_clears_when_resolved(page, stack):
    queue, rule = f"alerts-{uuid.uuid4().hex[:6]}", f"Callers in line {uuid.uuid4().hex[:4]}"
    stack.manage("shell", "-c", (
        "from alerts.models import AlertRule; from queues.models import Queue; "
        f"q = Queue.objects.create(name='{queue}'); "
        f"AlertRule.objects.create(name='{rule}', metric='callers_waiting', queue=q, operator='>', threshold=0, "
        "for_secs=0, severity='critical')"
    ))
    page.goto("/calls/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    page.evaluate("window.__marker = 'same page'")
    item = page.locator("#alert-banner .alert-item", has_text=rule)
    expect(item).to_have_count(0)

    assert stack.post_webhook("call.enqueued", str(uuid.uuid4()), now_iso(), call_control_id="v3:alert-caller",
                              queue=queue, current_position=1) == 200
    expect(item).to_be_visible(timeout=20000)
    expect(item).to_have_attribute("data-severity", "critical")
    expect(item.locator("a.what")).to_have_attribute("href", f"/queues/{queue}/")
    expect(page.locator("#alert-nav-count")).to_have_class("nav-count has-open")
    assert page.evaluate("window.__marker") == "same page"  # arrived without a reload

    item.locator("input[name=note]").fill("on it")
    item.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/calls/")
    acknowledged = page.locator("#alert-banner .alert-item", has_text=rule)
    expect(acknowledged).to_contain_text("acknowledged by operator")
    expect(acknowledged).to_have_attribute("data-status", "acknowledged")

    page.evaluate("window.__marker = 'after acknowledging'")
    assert stack.post_webhook("call.dequeued", str(uuid.uuid4()), now_iso(), call_control_id="v3:alert-caller",
                              queue=queue, reason="bridged", wait_time_secs=2, queue_position=1) == 200
    expect(page.locator("#alert-banner .alert-item", has_text=rule)).to_have_count(0, timeout=20000)
    assert page.evaluate("window.__marker") == "after acknowledging"
    page.goto("/alerts/?status=resolved")
    expect(page.locator("tr.alert-row", has_text=rule)).to_contain_text("lasted")


def test_a_critical_alert_notifies_a_tab_in_the_background(browser, stack):
    from tests.browser.conftest import logged_in

    queue, rule = f"notify-{uuid.uuid4().hex[:6]}", f"Critical line {uuid.uuid4().hex[:4]}"
    stack.manage("shell", "-c", (
        "from alerts.models import AlertRule; from queues.models import Queue; "
        f"q = Queue.objects.create(name='{queue}'); "
        f"AlertRule.objects.create(name='{rule}', metric='callers_waiting', queue=q, operator='>', threshold=0, "
        "for_secs=0, severity='critical')"
    ))
    with logged_in(browser, stack.base_url, "operator") as page:
        page.context.grant_permissions(["notifications"])
        # A tab in the background, and a Notification that records what it was asked to show.
        page.add_init_script("""
            Object.defineProperty(document, 'hidden', { get: () => true });
            window.__shown = [];
            window.Notification = function (title, options) { window.__shown.push([title, options.body]); };
            window.Notification.permission = 'granted';
        """)
        page.goto("/calls/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
        assert stack.post_webhook("call.enqueued", str(uuid.uuid4()), now_iso(), call_control_id="v3:notify-caller",
                                  queue=queue, current_position=1) == 200
        expect(page.locator("#alert-banner .alert-item", has_text=rule)).to_be_visible(timeout=20000)
        page.wait_for_function("window.__shown.length > 0", timeout=5000)
        shown = page.evaluate("window.__shown")
        assert shown[0][0] == "Critical alert" and rule in shown[0][1]
        assert page.title().startswith("(!) ")
        stack.post_webhook("call.dequeued", str(uuid.uuid4()), now_iso(), call_control_id="v3:notify-caller",
                           queue=queue, reason="bridged", wait_time_secs=1, queue_position=1)
