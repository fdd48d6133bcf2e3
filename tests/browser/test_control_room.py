"""The control room in Chromium: recordings, timeline, roster and end of a conference arrive without reload."""
import threading
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]
T = "2026-11-23T09:{:02d}:{:02d}Z"


def at(minute, second=0):
    return T.format(minute, second)


def collect_console_errors(page) -> list[str]:
    """Console errors, uncaught exceptions (htmx logs its swap and target errors there) and failed requests."""
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    return errors


def open_conference(page, stack, conference_id):
    stack.post_webhook("conference.created", str(uuid.uuid4()), at(0), conference_id=conference_id, connection_id="c")
    for _ in range(100):  # the worker applies the event moments after delivery is answered
        if page.request.get(f"/conferences/{conference_id}/").status == 200:  # polled aside: a 404 page logs an error
            break
        page.wait_for_timeout(200)
    page.goto(f"/conferences/{conference_id}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    page.evaluate("window.__marker = 'same page'")


def test_recording_saved_appears_in_the_panel_badge_and_timeline_without_reload(page, stack):
    conference_id = f"conf-{uuid.uuid4().hex[:8]}"
    open_conference(page, stack, conference_id)
    errors = collect_console_errors(page)
    panel = page.locator("#conference-recordings")
    expect(panel).to_contain_text("No recordings of this conference yet")
    expect(page.locator("#conference-live [data-recording]")).to_have_text("Not recorded")

    recording_id = f"rec-{uuid.uuid4().hex[:8]}"
    assert stack.post_webhook(
        "conference.recording.saved", str(uuid.uuid4()), at(5), conference_id=conference_id, recording_id=recording_id,
        call_control_id="v3:browser-rec", call_session_id="s", connection_id="c", format="mp3", channels="single",
        recording_started_at=at(2), recording_ended_at=at(4, 5),
        recording_urls={"mp3": "http://127.0.0.1:9/rec.mp3"}, public_recording_urls={},
    ) == 200

    expect(panel.locator("li")).to_have_count(1, timeout=20000)
    expect(panel.locator("li")).to_contain_text("0:02:05")  # its real length, h:mm:ss
    expect(panel.locator(f'[title="recording_id {recording_id}"]')).to_have_count(1)
    expect(page.locator("#conference-live [data-recording]")).to_have_text("Recorded (1)")
    expect(page.locator("#timeline")).to_contain_text("Recording saved")  # in words (issue 31)
    assert page.evaluate("window.__marker") == "same page"
    assert errors == []


def test_roster_timeline_and_the_end_of_a_conference_arrive_live(page, stack):
    conference_id = f"conf-{uuid.uuid4().hex[:8]}"
    leg = f"v3:{uuid.uuid4().hex[:8]}"
    other = f"v3:{uuid.uuid4().hex[:8]}"
    open_conference(page, stack, conference_id)
    errors = collect_console_errors(page)
    expect(page.locator("#conference-controls #form-end")).to_have_count(1)  # an Operator is offered controls

    stack.post_webhook("conference.participant.joined", str(uuid.uuid4()), at(1), conference_id=conference_id,
                       call_control_id=leg, call_leg_id="l1")
    stack.post_webhook("conference.participant.joined", str(uuid.uuid4()), at(1, 5), conference_id=conference_id,
                       call_control_id=other, call_leg_id="l2")
    # The leg is reported after the join: the participant gets its caller's number anyway.
    stack.post_webhook("call.initiated", str(uuid.uuid4()), at(1, 10), call_control_id=leg, call_leg_id="l1",
                       call_session_id="s1", connection_id="c", direction="incoming", **{"from": "+15550104242", "to": "+15550000100"},
                       start_time=at(0, 50), state="parked")
    row = page.locator(f'tr[data-call-control-id="{leg}"]')
    expect(row).to_contain_text("+15550104242", timeout=20000)
    expect(row.locator(f'td[title="call_control_id {leg}"]')).to_have_count(1)
    expect(page.locator("#roster")).not_to_contain_text(leg)  # the id only on hover

    for i in range(4):  # one speaker change every 3 s folds into one line
        stack.post_webhook("conference.floor.changed", str(uuid.uuid4()), at(2, 3 * i), conference_id=conference_id,
                           call_control_id=leg if i % 2 else other)
    floor = page.locator("#timeline .timeline-item.floor")
    expect(floor).to_have_count(1, timeout=20000)
    expect(floor).to_contain_text("changed 4 times", timeout=20000)
    expect(floor).to_contain_text("+15550104242")
    expect(row).to_contain_text("speaking")

    stack.post_webhook("conference.ended", str(uuid.uuid4()), at(7, 30), conference_id=conference_id, reason="host_left")
    expect(page.locator("#conference-live [data-status]")).to_have_text("Completed", timeout=20000)
    expect(page.locator("#conference-live [data-duration]").first).to_have_text("0:07:30")
    expect(page.locator("#conference-controls")).to_contain_text("nothing left to control")
    expect(page.locator("#conference-controls form")).to_have_count(0)
    expect(page.locator("#roster form")).to_have_count(0)  # no per-participant buttons either
    assert page.evaluate("window.__marker") == "same page"
    assert errors == []


def test_main_pages_log_no_console_errors_while_webhooks_flow(page, stack):
    errors = collect_console_errors(page)
    conference_id = f"conf-{uuid.uuid4().hex[:8]}"
    stack.post_webhook("conference.created", str(uuid.uuid4()), at(0), conference_id=conference_id)
    stop = threading.Event()

    def traffic():
        i = 0
        while not stop.is_set():
            i += 1
            leg = f"v3:flow-{uuid.uuid4().hex[:6]}"
            stack.post_webhook("call.initiated", str(uuid.uuid4()), at(1, i % 60), call_control_id=leg,
                               direction="incoming", **{"from": "+15550100000", "to": "+15550000100"})
            stack.post_webhook("conference.participant.joined", str(uuid.uuid4()), at(1, i % 60),
                               conference_id=conference_id, call_control_id=leg)
            stack.post_webhook("conference.floor.changed", str(uuid.uuid4()), at(2, i % 60),
                               conference_id=conference_id, call_control_id=leg)
            stop.wait(0.3)

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        for path in ["/", "/conferences/", "/conferences/?status=in_progress", f"/conferences/{conference_id}/",
                     "/events/", "/events/?event_type=conference.", "/events/?page=2", "/commands/", "/calls/",
                     "/queues/", "/recordings/"]:
            page.goto(path)
            expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
            page.wait_for_timeout(2500)  # let a few live messages land on each page
            assert errors == [], f"{path}: {errors}"
    finally:
        stop.set()
        sender.join(timeout=5)
