"""End to end in Chromium: callers entering and leaving queues show up on open queue pages without a reload."""
import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def enqueue(stack, queue, ccid, at="2026-11-23T09:00:00Z", **payload):
    assert stack.post_webhook("call.enqueued", str(uuid.uuid4()), at, queue=queue, call_control_id=ccid,
                              call_leg_id=f"leg-{ccid}", call_session_id=f"s-{ccid}", current_position=1,
                              queue_avg_wait_time_secs=0, **payload) == 200


def test_a_caller_entering_a_queue_appears_on_the_open_board(page, stack):
    queue = f"board-{uuid.uuid4().hex[:8]}"
    page.goto("/queues/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    page.evaluate("window.__marker = 'same page'")
    enqueue(stack, queue, f"v3:{queue}-a")
    card = page.locator(f'.queue-card[data-queue="{queue}"]')
    expect(card).to_be_visible(timeout=20000)
    expect(card.locator("[data-waiting]")).to_have_text("1")
    expect(card.locator("[data-longest] [data-since]")).to_have_text(re.compile(r"^\d+:\d\d:\d\d$"))
    enqueue(stack, queue, f"v3:{queue}-b", at="2026-11-23T09:00:05Z")
    expect(card.locator("[data-waiting]")).to_have_text("2", timeout=20000)
    assert stack.post_webhook("call.dequeued", str(uuid.uuid4()), "2026-11-23T09:00:30Z", queue=queue,
                              call_control_id=f"v3:{queue}-a", reason="bridged", wait_time_secs=30, queue_position=1) == 200
    expect(card.locator("[data-waiting]")).to_have_text("1", timeout=20000)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened


def test_the_open_queue_page_follows_its_line(page, stack):
    queue = f"line-{uuid.uuid4().hex[:8]}"
    enqueue(stack, queue, f"v3:{queue}-a")
    for _ in range(100):  # polled aside: a 404 page would log a console error
        if page.request.get(f"/queues/{queue}/").status == 200:
            break
        page.wait_for_timeout(200)
    page.goto(f"/queues/{queue}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    page.evaluate("window.__marker = 'same page'")
    enqueue(stack, queue, f"v3:{queue}-b", at="2026-11-23T09:00:05Z")
    second = page.locator(f'#waiting-callers tr[data-call-control-id="v3:{queue}-b"]')
    expect(second).to_be_visible(timeout=20000)
    expect(second.locator("[data-position]")).to_have_text("2")
    expect(second.get_by_role("button", name="Force-remove")).to_be_visible()  # an Operator is offered controls
    assert stack.post_webhook("call.dequeued", str(uuid.uuid4()), "2026-11-23T09:00:30Z", queue=queue,
                              call_control_id=f"v3:{queue}-a", reason="hangup", wait_time_secs=30, queue_position=1) == 200
    expect(second.locator("[data-position]")).to_have_text("1", timeout=20000)
    expect(page.locator(f'#queue-history tr[data-call-control-id="v3:{queue}-a"]')).to_contain_text("Hung up")
    assert page.evaluate("window.__marker") == "same page"
