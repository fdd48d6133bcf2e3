"""The console as a supervisor uses it (issue 31), in Chromium: messages out of the way and on their own page,
live sections that are live, no console errors, the wallboard across a room, and a walkthrough that counts clicks.

Every page these tests visit must log no console error (the `logged_in` fixture fails the test otherwise).
Telnyx is unreachable in this stack, so every command fails at its first attempt (COMMAND_MAX_ATTEMPTS=1).
"""
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import logged_in

pytestmark = [pytest.mark.browser]


def at(minute, second=0, day="2026-11-23"):
    return f"{day}T09:{minute:02d}:{second:02d}Z"


def connected(page):
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)


def open_when_ready(page, path):
    """The worker applies a webhook moments after its delivery is answered: retry the page until it exists."""
    for _ in range(100):
        if page.request.get(path).status == 200:  # polled aside: a 404 page would log a console error
            page.goto(path)
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"{path} never appeared")


def conference_with_two(stack, name="Support huddle"):
    """A live conference named `name` with two participants known by their numbers: (id, agent, caller)."""
    conference_id, agent, caller = f"conf-{uuid.uuid4().hex[:8]}", f"v3:{uuid.uuid4().hex[:8]}", f"v3:{uuid.uuid4().hex[:8]}"
    stack.post_webhook("conference.created", str(uuid.uuid4()), at(0), conference_id=conference_id, name=name,
                       connection_id="c")
    for leg, number, minute in ((agent, "+15550199", 1), (caller, "+15550100", 2)):
        stack.post_webhook("call.initiated", str(uuid.uuid4()), at(minute), call_control_id=leg, call_leg_id=leg,
                           call_session_id=f"s-{leg}", connection_id="c", direction="incoming",
                           **{"from": number, "to": "+15550000100"}, state="parked")
        stack.post_webhook("conference.participant.joined", str(uuid.uuid4()), at(minute, 5), conference_id=conference_id,
                           call_control_id=leg, call_leg_id=leg)
    # Telnyx names a conference in its create answer (or the sync), never in a webhook: as if it had.
    stack.manage("shell", "-c", (
        "import time\nfrom conferencing.models import Conference, Participant\n"
        "for _ in range(100):\n"
        f"    if Conference.objects.filter(conference_id='{conference_id}').update(name='{name}') and "
        f"Participant.objects.filter(conference__conference_id='{conference_id}').count() == 2: break\n"
        "    time.sleep(0.2)\n"
    ))
    return conference_id, agent, caller


def test_a_failure_message_stays_on_its_page_in_the_flow_and_covers_no_control(browser, stack):
    with logged_in(browser, stack.base_url, "supervisor", viewport={"width": 1280, "height": 720}) as page:
        conference_id, _, _ = conference_with_two(stack)
        wall = page.context.new_page()
        wall.goto("/wallboard/queues/")
        other = page.context.new_page()
        other.goto("/conferences/")
        open_when_ready(page, f"/conferences/{conference_id}/")
        for p in (page, wall, other):
            p.bring_to_front()
            connected(p) if p is not wall else expect(wall.locator("#wallboard-clock")).to_be_visible()
        page.bring_to_front()

        page.locator("#controls-recording > details > summary").click()
        page.locator("#form-record_start > summary").click()
        page.locator("#form-record_start button[type=submit]").click()
        toast = page.locator("#toasts .toast.failed")
        expect(toast).to_contain_text("✗ Start recording: Support huddle failed: Could not reach Telnyx", timeout=20000)
        expect(page.locator("#form-record_start .result")).to_contain_text("failed", timeout=20000)

        # The message is in the page's flow: nothing sits under it, End conference takes the click at once.
        assert page.evaluate("getComputedStyle(document.getElementById('toasts')).position") == "static"
        end = page.locator("#form-end")
        end.locator("summary").click()
        button = end.locator("button[type=submit]")
        button.scroll_into_view_if_needed()
        assert button.evaluate("b => { const r = b.getBoundingClientRect();"
                               " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === b; }")
        overlaps = page.evaluate("""() => {
            const t = document.getElementById('toasts').getBoundingClientRect();
            return [...document.querySelectorAll('button, summary, a, input, select, textarea')].filter(el => {
                if (el.closest('#toasts')) return false;
                const r = el.getBoundingClientRect();
                return r.width && r.height && r.left < t.right && r.right > t.left && r.top < t.bottom && r.bottom > t.top;
            }).length;
        }""")
        assert overlaps == 0
        # A failure stays until dismissed (a click), and only on the page that did it.
        page.wait_for_timeout(6000)
        expect(toast).to_have_count(1)
        toast.first.click()
        expect(page.locator("#toasts .toast")).to_have_count(0)
        expect(wall.locator(".toast")).to_have_count(0)
        expect(other.locator(".toast")).to_have_count(0)
        # A success leaves by itself after a few seconds (none can happen here: one is added as the socket would).
        page.evaluate("""() => document.getElementById('toasts').insertAdjacentHTML('afterbegin',
            '<div class="toast succeeded" role="status">✓ Muted everyone in Support huddle</div>')""")
        expect(page.locator("#toasts .toast.succeeded")).to_have_count(1)
        expect(page.locator("#toasts .toast.succeeded")).to_have_count(0, timeout=8000)
        # Reopening the form starts afresh: its previous result goes.
        page.locator("#form-record_start > summary").click()
        page.locator("#form-record_start > summary").click()
        expect(page.locator("#form-record_start .result")).to_be_empty()


def test_an_ended_call_offers_no_forms_and_its_recordings_section_is_live(page, stack):
    leg = f"v3:{uuid.uuid4().hex[:8]}"
    stack.post_webhook("call.initiated", str(uuid.uuid4()), at(10), call_control_id=leg, call_leg_id=leg,
                       call_session_id=f"s-{leg}", connection_id="c", direction="incoming",
                       **{"from": "+15550123", "to": "+15550000100"}, state="parked")
    open_when_ready(page, f"/calls/{leg}/")
    connected(page)
    expect(page.locator("#call-recordings")).to_contain_text("No recordings of this call")
    assert page.locator("form.action-form").count() > 0
    stack.post_webhook("call.recording.saved", str(uuid.uuid4()), at(12), call_control_id=leg, call_leg_id=leg,
                       call_session_id=f"s-{leg}", channels="single", recording_started_at=at(10, 30),
                       recording_ended_at=at(11, 30), recording_urls={"mp3": "http://127.0.0.1:9/rec.mp3"})
    expect(page.locator("#call-recordings li")).to_have_count(1, timeout=4000)
    expect(page.locator("#call-recordings")).to_contain_text("0:01:00")

    stack.post_webhook("call.hangup", str(uuid.uuid4()), at(13), call_control_id=leg, call_leg_id=leg,
                       call_session_id=f"s-{leg}", hangup_cause="normal_clearing")
    # The forms go from the open page by themselves (no reload).
    expect(page.locator("#controls-ended")).to_have_text("This call has ended: there is nothing left to control.",
                                                         timeout=15000)
    expect(page.locator("form.action-form")).to_have_count(0)


def test_admin_pages_show_no_message_of_a_retry_and_log_no_error(page, stack):
    failed = stack.manage("shell", "-c", (
        "from portal.models import Command; from django.contrib.auth import get_user_model; "
        "c = Command.objects.create(action='call.hangup', target='v3:admin-retry', status='failed', "
        "requested_by=get_user_model().objects.get(username='operator'), error_title='Bad'); print(c.pk)"
    )).strip().splitlines()[-1]
    page.goto("/admin/portal/command/")
    page.locator(f'input[name="_selected_action"][value="{failed}"]').check()
    page.select_option('select[name="action"]', "retry_selected")
    page.locator('button[name="index"]').click()
    expect(page.locator("ul.messagelist")).to_contain_text("Queued 1 retry", timeout=10000)
    page.wait_for_timeout(4000)  # the retried command fails; its outcome reaches this user's pages
    expect(page.locator(".toast")).to_have_count(0)


def test_the_wallboard_fills_a_1920x1080_screen_readable_across_a_room(browser, stack, tmp_path):
    names = [f"wall-{uuid.uuid4().hex[:6]}" for _ in range(4)]
    for i, name in enumerate(names):
        leg = f"v3:{uuid.uuid4().hex[:8]}"
        stack.post_webhook("call.enqueued", str(uuid.uuid4()), at(20 + i), call_control_id=leg, queue=name,
                           current_position=1, call_leg_id=leg, call_session_id=f"s-{leg}", connection_id="c")
    # The last queue is below its goal today: one caller answered after 60 s against a 20 s target.
    now = datetime.now(UTC)
    leg = f"v3:{uuid.uuid4().hex[:8]}"
    stack.post_webhook("call.enqueued", str(uuid.uuid4()), (now - timedelta(seconds=70)).isoformat(), call_control_id=leg,
                       queue=names[-1], current_position=2, call_leg_id=leg, call_session_id=f"s-{leg}", connection_id="c")
    stack.post_webhook("call.dequeued", str(uuid.uuid4()), (now - timedelta(seconds=10)).isoformat(), call_control_id=leg,
                       queue=names[-1], reason="bridged", wait_time_secs=60, call_leg_id=leg, call_session_id=f"s-{leg}")
    with logged_in(browser, stack.base_url, "operator", viewport={"width": 1920, "height": 1080}) as page:
        query = "&".join(f"queue={n}" for n in names)
        for _ in range(50):
            page.goto(f"/wallboard/queues/?{query}")
            if page.locator(".queue-card").count() == 4:
                break
            page.wait_for_timeout(200)
        cards = page.locator(".queue-card")
        expect(cards).to_have_count(4)
        expect(page.locator("input[type=search], #board-q, #toasts, .messages")).to_have_count(0)
        expect(page.locator("#wallboard-clock")).to_have_text(re.compile(r"^\d\d:\d\d$"), timeout=5000)
        expect(page.locator("#wallboard-updated")).to_contain_text("updated")
        page.wait_for_timeout(1500)  # the socket opened and the board re-fetched itself: measure what stays
        boxes = page.evaluate("""() => [...document.querySelectorAll('.queue-card')].map(c => {
            const r = c.getBoundingClientRect(); return {w: r.width, h: r.height, bottom: r.bottom}; })""")
        assert len(boxes) == 4
        covered = sum(b["w"] * b["h"] for b in boxes)
        assert covered > 0.6 * 1920 * 1080, f"the cards fill the screen: {boxes}"
        assert 0.9 * 1080 < max(b["bottom"] for b in boxes) <= 1080, boxes  # filled, and nothing below the fold
        size = page.evaluate("""() => {
            const px = el => parseFloat(getComputedStyle(el).fontSize);
            const card = document.querySelector('.queue-card');
            return {figure: px(card.querySelector('dd.big')), label: px(card.querySelector('dt')),
                    note: px(card.querySelector('.note')), counts: px(card.querySelector('dd.counts'))};
        }""")
        assert size["figure"] >= 64, size  # ~5 m away: figures of 64 px and more
        assert min(size["label"], size["note"], size["counts"]) >= size["figure"] / 3, size
        # Red by colour alone: the card itself, not only a figure's colour.
        red = page.locator(f'.queue-card[data-queue="{names[-1]}"]')
        expect(red).to_have_class(re.compile(r"\bsl-bad\b"), timeout=10000)
        r, g, b = (int(v) for v in re.findall(r"\d+", red.evaluate("c => getComputedStyle(c).backgroundColor"))[:3])
        assert r > 120 and r > 3 * g and r > 3 * b, (r, g, b)
        page.screenshot(path=str(tmp_path / "wallboard-1920x1080.png"))
        assert (tmp_path / "wallboard-1920x1080.png").stat().st_size > 10_000


def test_a_caller_taken_out_counts_in_the_board_line_live(page, stack):
    queue, leg = f"out-{uuid.uuid4().hex[:6]}", f"v3:{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    stack.post_webhook("call.enqueued", str(uuid.uuid4()), (now - timedelta(seconds=40)).isoformat(), call_control_id=leg,
                       queue=queue, current_position=1, call_leg_id=leg, call_session_id=f"s-{leg}", connection_id="c")
    page.goto(f"/queues/?q={queue}")
    connected(page)
    card = page.locator(f'.queue-card[data-queue="{queue}"]')
    expect(card.locator("dd.counts")).to_have_text("1 offered · 0 answered · 0 abandoned · 1 waiting", timeout=15000)
    stack.post_webhook("call.dequeued", str(uuid.uuid4()), (now - timedelta(seconds=5)).isoformat(), call_control_id=leg,
                       queue=queue, reason="leave", wait_time_secs=35, call_leg_id=leg, call_session_id=f"s-{leg}")
    expect(card.locator("dd.counts")).to_have_text("1 offered · 0 answered · 0 abandoned · 1 taken out", timeout=15000)


def test_a_viewer_sees_what_they_may_and_no_checkbox_without_a_button(browser, stack):
    stack.manage("shell", "-c", (
        "from django.contrib.auth.models import Group; from django.contrib.auth import get_user_model; "
        "u, _ = get_user_model().objects.get_or_create(username='viewer'); u.set_password('pass-word-123'); u.save(); "
        "u.groups.add(Group.objects.get(name='Viewer'))"
    ))
    leg = f"v3:{uuid.uuid4().hex[:8]}"
    stack.post_webhook("call.recording.saved", str(uuid.uuid4()), at(30), call_control_id=leg, call_leg_id=leg,
                       call_session_id=f"s-{leg}", channels="single", recording_started_at=at(29),
                       recording_ended_at=at(30), recording_urls={"mp3": "http://127.0.0.1:9/rec.mp3"})
    with logged_in(browser, stack.base_url, "viewer") as page:
        page.goto("/recordings/")
        connected(page)
        expect(page.locator("#recording-rows tr").first).to_be_visible(timeout=15000)
        expect(page.locator("input[type=checkbox]:visible")).to_have_count(0)
        expect(page.get_by_role("button", name="Download selected as ZIP")).to_have_count(0)
        response = page.goto("/system/")
        assert response.status == 403
        page.console_errors[:] = [e for e in page.console_errors if "status of 403" not in e]  # the refusal itself
        expect(page.locator("h1")).to_have_text("This page is not open to your role")
        expect(page.locator("main")).to_contain_text("Viewer")
        expect(page.locator("main").get_by_role("link", name="Queues")).to_be_visible()
