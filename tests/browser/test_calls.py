"""End to end in Chromium: DTMF digits and transcript lines posted as signed webhooks appear on an open call page."""
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_dtmf_and_transcript_appear_on_open_call_page(supervisor_page, stack):
    page = supervisor_page
    call_control_id = f"v3:browser-{uuid.uuid4().hex[:10]}"
    leg = {"call_control_id": call_control_id, "call_leg_id": f"leg-{call_control_id[-6:]}", "call_session_id": "s-browser"}
    assert stack.post_webhook("call.initiated", str(uuid.uuid4()), "2026-11-23T09:00:00Z", direction="incoming",
                              **{"from": "+15550009999", "to": "+15550008888"}, **leg) == 200
    # The worker applies the event moments after Telnyx's delivery is answered.
    for _ in range(100):  # polled aside: a 404 page would log a console error
        if page.request.get(f"/calls/{call_control_id}/").status == 200:
            break
        page.wait_for_timeout(200)
    page.goto(f"/calls/{call_control_id}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    expect(page.locator("#call-dtmf")).to_contain_text("No digits pressed yet")
    page.evaluate("window.__marker = 'same page'")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    for second, digit in [(1, "4"), (2, "2"), (3, "#")]:
        stack.post_webhook("call.dtmf.received", str(uuid.uuid4()), f"2026-11-23T09:00:0{second}Z", digit=digit, **leg)
    expect(page.locator("[data-dtmf-digits]")).to_have_text("42#", timeout=20000)

    # Out of order: the later final line is delivered first; an interim result shows until it is final.
    stack.post_webhook("call.transcription", str(uuid.uuid4()), "2026-11-23T09:00:20Z",
                       transcription_data={"transcript": "I would like a refund.", "is_final": True}, **leg)
    stack.post_webhook("call.transcription", str(uuid.uuid4()), "2026-11-23T09:00:10Z",
                       transcription_data={"transcript": "Hello, this is Alice.", "is_final": True}, **leg)
    stack.post_webhook("call.transcription", str(uuid.uuid4()), "2026-11-23T09:00:25Z",
                       transcription_data={"transcript": "for order", "is_final": False}, **leg)
    finals = page.locator("[data-transcript-final]")
    expect(finals).to_have_text(["Hello, this is Alice.", "I would like a refund."], timeout=20000)
    expect(page.locator("[data-transcript-interim]")).to_contain_text("for order", timeout=20000)
    expect(page.locator("#call-timeline-rows")).to_contain_text("digit 4")
    expect(page.locator("[data-call-badges]")).to_contain_text("Transcribing")
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert errors == []


def test_a_command_sent_from_the_call_page_joins_its_timeline(page, stack):
    call_control_id = f"v3:browser-{uuid.uuid4().hex[:10]}"
    assert stack.post_webhook("call.answered", str(uuid.uuid4()), "2026-11-23T09:00:00Z",
                              call_control_id=call_control_id, **{"from": "+15550007777", "to": "+15550006666"}) == 200
    for _ in range(100):  # polled aside: a 404 page would log a console error
        if page.request.get(f"/calls/{call_control_id}/").status == 200:
            break
        page.wait_for_timeout(200)
    page.goto(f"/calls/{call_control_id}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    page.evaluate("window.__marker = 'same page'")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.locator("#controls-advanced > details > summary").click()  # the less used panels are folded (issue 31)
    form = page.locator("#form-send_dtmf")
    form.locator(":scope > summary").click()
    form.locator('input[name="digits"]').fill("123#")
    form.get_by_role("button", name="Send DTMF").click()
    expect(form.locator(".result")).to_contain_text("Send DTMF", timeout=10000)
    # The outcome arrives over the socket and the timeline fetches itself again, the command at the bottom.
    # In words (issue 31): what was asked, of whom (Telnyx is unreachable here, so it failed).
    expect(page.locator("#call-timeline-rows li").last).to_contain_text("Send DTMF: +15550007777", timeout=20000)
    expect(page.locator("#command-outcomes")).to_contain_text("Send DTMF: +15550007777")
    assert page.evaluate("window.__marker") == "same page"
    assert errors == []
