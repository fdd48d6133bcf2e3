"""The call sync: legs held active are checked against Telnyx's call status; ghosts are hung up (issue 29)."""
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from calls import sync
from calls.models import Call
from calls.tasks import sync_calls
from ops import selectors as ops_selectors
from portal.selectors import dashboard_counters
from tests.calls.factories import CallFactory

pytestmark = pytest.mark.django_db


def status(call_control_id: str, *, alive: bool, end_time: str | None = None) -> dict:
    return {"data": {"record_type": "call", "call_control_id": call_control_id, "call_leg_id": "l", "call_session_id": "s",
                     "is_alive": alive, "end_time": end_time}}


def asked(telnyx) -> list[str]:
    return [c.request.url.path.removeprefix("/v2/calls/") for c in telnyx.calls if c.request.url.path.startswith("/v2/calls/")]


def quiet_leg(call_control_id: str, **fields) -> Call:
    return CallFactory(call_control_id=call_control_id, last_event_at=timezone.now() - timedelta(minutes=30), **fields)


def test_ended_and_unknown_legs_are_hung_up_and_live_ones_kept(telnyx):
    live, ended, gone = quiet_leg("v3:live"), quiet_leg("v3:ended"), quiet_leg("v3:gone", queue_name="support")
    quiet_leg("v3:over", state=Call.State.HANGUP)
    telnyx.get("/calls/v3:live").respond(200, json=status("v3:live", alive=True))
    telnyx.get("/calls/v3:ended").respond(200, json=status("v3:ended", alive=False, end_time="2026-12-04T10:00:05Z"))
    telnyx.get("/calls/v3:gone").respond(404, json={"errors": [{"code": "10005", "title": "Resource not found"}]})

    assert sync.sync_everything() == {"checked": 3, "alive": 1, "closed": 2}

    assert sorted(asked(telnyx)) == ["v3:ended", "v3:gone", "v3:live"]  # a leg already over is not asked about
    for leg in (live, ended, gone):
        leg.refresh_from_db()
    assert live.state == Call.State.ANSWERED
    assert (ended.state, ended.ended_at.isoformat(), ended.hangup_cause) == (
        Call.State.HANGUP, "2026-12-04T10:00:05+00:00", sync.ENDED)
    assert (gone.state, gone.hangup_cause, gone.queue_name) == (Call.State.HANGUP, sync.NOT_FOUND, "")
    assert dashboard_counters()["active_calls"] == 1


def test_periodic_sync_asks_only_about_quiet_legs(telnyx, settings):
    settings.CALL_SYNC_QUIET_SECONDS = 120
    quiet_leg("v3:quiet")
    CallFactory(call_control_id="v3:chatty", last_event_at=timezone.now() - timedelta(seconds=10))
    telnyx.get("/calls/v3:quiet").respond(404)
    assert sync_calls() == {"checked": 1, "alive": 0, "closed": 1}
    assert asked(telnyx) == ["v3:quiet"]
    assert Call.objects.get(call_control_id="v3:chatty").state == Call.State.ANSWERED
    assert {row["name"]: row for row in ops_selectors.last_syncs()}["calls"]["outcome"] == "ok"


def test_more_quiet_legs_than_a_run_takes_are_walked_in_turn(telnyx, settings):
    settings.CALL_SYNC_MAX_LEGS = 2
    for n in range(3):
        quiet_leg(f"v3:q{n}")
    telnyx.route(method="GET", path__startswith="/calls/").mock(
        side_effect=lambda request: httpx.Response(200, json=status(request.url.path.rsplit("/", 1)[1], alive=True)))
    sync.sync_periodic()
    sync.sync_periodic()
    assert asked(telnyx) == ["v3:q0", "v3:q1", "v3:q2", "v3:q0"]


def test_an_event_during_the_check_wins_over_the_sync():
    leg = quiet_leg("v3:late")
    checked_at = timezone.now() - timedelta(seconds=5)
    Call.objects.filter(pk=leg.pk).update(last_event_at=timezone.now(), state=Call.State.BRIDGED)
    from calls.services import call_closed_by_sync

    assert call_closed_by_sync(call_control_id="v3:late", ended_at=None, checked_at=checked_at, reason="x") is None
    assert Call.objects.get(pk=leg.pk).state == Call.State.BRIDGED


def test_telnyx_down_fails_the_sync_and_closes_nothing(telnyx):
    quiet_leg("v3:unsure")
    telnyx.get("/calls/v3:unsure").respond(503, json={"errors": [{"title": "Service unavailable"}]})
    assert sync_calls() is None
    assert Call.objects.get(call_control_id="v3:unsure").state == Call.State.ANSWERED
    row = {row["name"]: row for row in ops_selectors.last_syncs()}["calls"]
    assert row["outcome"] == "failed" and "Service unavailable" in row["error"]


def test_the_closed_ghost_leaves_the_open_calls_page_live(telnyx, listen, django_capture_on_commit_callbacks):
    quiet_leg("v3:ghost", from_number="+15550009999")
    telnyx.get("/calls/v3:ghost").respond(404)
    listen("calls")
    listen("call." + str(Call.objects.get(call_control_id="v3:ghost").pk))
    with django_capture_on_commit_callbacks(execute=True):
        sync.sync_everything()
    page = listen.received("calls")
    assert page and "+15550009999" in page[-1]  # the refreshed list shows it among the ended legs
    detail = "".join(listen.received("call." + str(Call.objects.get(call_control_id="v3:ghost").pk)))
    assert "Ended" in detail


def test_telnyxs_own_hangup_arriving_after_the_sync_replaces_its_guess(telnyx, post_webhook, event_doc):
    post_webhook(event_doc("call.answered", id="a", occurred_at="2026-11-23T09:01:00Z"))
    telnyx.get("/calls/v3:cc-alice").respond(404)
    assert sync.sync_everything()["closed"] == 1
    assert Call.objects.get(call_control_id="v3:cc-alice").hangup_cause == sync.NOT_FOUND
    post_webhook(event_doc("call.hangup", id="h", occurred_at="2026-11-23T09:05:00Z"))
    leg = Call.objects.get(call_control_id="v3:cc-alice")
    assert (leg.state, leg.hangup_cause, leg.hangup_source) == (Call.State.HANGUP, "normal_clearing", "caller")
    assert leg.ended_at.isoformat() == "2026-11-23T09:05:00+00:00"


def test_a_ghost_waiting_in_a_queue_leaves_the_calls_list_dashboard_and_queue_on_the_sync_schedule(telnyx, settings):
    """Issue 27's words: a call whose call.hangup was lost stops showing as active everywhere it showed."""
    from calls.selectors import call_list_context
    from portal.celery import app as celery_app
    from queues.selectors import waiting_calls
    from tests.queues.factories import QueuedCallFactory, QueueFactory
    from tests.queues.test_sync import page, telnyx_queue

    quiet_leg("v3:ghost-q", queue_name="support")
    support = QueueFactory(name="support")
    QueuedCallFactory(queue=support, call_control_id="v3:ghost-q", enqueued_at=timezone.now() - timedelta(minutes=30))
    telnyx.get("/calls/v3:ghost-q").respond(404)
    telnyx.get("/queues").respond(200, json=page([telnyx_queue("support")]))
    telnyx.get("/queues/support/calls").respond(200, json=page([]))
    before = dashboard_counters()
    assert (before["active_calls"], before["waiting_calls"]) == (1, 1)

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in ("calls.tasks.sync_calls", "queues.tasks.sync_queues"):
        assert task in scheduled
        celery_app.tasks[task].apply()

    after = dashboard_counters()
    assert (after["active_calls"], after["waiting_calls"]) == (0, 0)
    assert call_list_context()["active_calls"] == []
    assert list(waiting_calls(support)) == []
    assert Call.objects.get(call_control_id="v3:ghost-q").hangup_cause == sync.NOT_FOUND
