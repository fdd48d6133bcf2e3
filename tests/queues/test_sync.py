"""Sync with Telnyx's queue lists: every page, create / correct / close, and the beat entry."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from queues.models import Queue, QueuedCall
from queues.sync import fetch_and_sync
from queues.tasks import sync_queues
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db


def page(items, number=1, total=1):
    return {"data": items, "meta": {"page_number": number, "total_pages": total, "page_size": 250, "total_results": len(items)}}


def telnyx_queue(name, **extra):
    return {"id": f"id-{name}", "record_type": "queue", "name": name, "max_size": 25, "current_size": 1,
            "average_wait_time_secs": 12, "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:30:00Z", **extra}


def queue_call(ccid, position, enqueued_at="2026-11-23T09:00:00Z", **extra):
    return {"record_type": "queue_call", "call_control_id": ccid, "call_leg_id": f"leg-{ccid}", "call_session_id": f"s-{ccid}",
            "connection_id": "c", "from": "+15550001111", "to": "+15550002222", "enqueued_at": enqueued_at,
            "queue_id": "q", "queue_position": position, "wait_time_secs": 30, "is_alive": True, **extra}


def test_sync_reads_every_page_creates_corrects_and_closes(telnyx):
    support = QueueFactory(name="support", max_size=None)
    QueuedCallFactory(queue=support, call_control_id="v3:gone", enqueued_at=timezone.now() - timedelta(minutes=5))
    QueuedCallFactory(queue=support, call_control_id="v3:known", enqueued_at=timezone.now() - timedelta(minutes=3), is_alive=True)
    QueueFactory(name="deleted-on-telnyx")

    telnyx.get("/queues", params={"page[number]": "2"}).respond(200, json=page([telnyx_queue("sales")], 2, 2))
    telnyx.get("/queues").respond(200, json=page([telnyx_queue("support")], 1, 2))
    telnyx.get("/queues/support/calls").respond(200, json=page([
        queue_call("v3:known", 1, enqueued_at="2026-11-23T09:00:00Z", is_alive=False),
        queue_call("v3:new", 2, enqueued_at="2026-11-23T09:01:00Z"),
    ]))
    telnyx.get("/queues/sales/calls", params={"page[number]": "2"}).respond(
        200, json=page([queue_call("v3:s2", 2, enqueued_at="2026-11-23T09:03:00Z")], 2, 2)
    )
    telnyx.get("/queues/sales/calls").respond(200, json=page([queue_call("v3:s1", 1, enqueued_at="2026-11-23T09:02:00Z")], 1, 2))

    counts = sync_queues()
    assert counts == {"queues": 2, "created": 3, "updated": 1, "closed": 1, "queues_gone": 1}
    support.refresh_from_db()
    assert (support.max_size, support.current_size, support.average_wait_secs, support.telnyx_id) == (25, 1, 12, "id-support")
    waiting = dict(QueuedCall.objects.filter(left_at__isnull=True).values_list("call_control_id", "position"))
    assert waiting == {"v3:known": 1, "v3:new": 2, "v3:s1": 1, "v3:s2": 2}
    known = QueuedCall.objects.get(call_control_id="v3:known")
    assert (known.is_alive, known.from_number, known.enqueued_at) == (False, "+15550001111", datetime(2026, 11, 23, 9, tzinfo=UTC))
    gone = QueuedCall.objects.get(call_control_id="v3:gone")
    assert gone.leave_reason == QueuedCall.Reason.GONE and gone.wait_time_secs >= 300
    assert Queue.objects.get(name="deleted-on-telnyx").deleted_at is not None
    assert Queue.objects.get(name="sales").max_size == 25


def test_sync_does_not_reopen_a_stay_that_ended_while_listing(telnyx, post_webhook, event_doc):
    queue = QueueFactory(name="support")
    # Telnyx listed the caller, but its call.dequeued was applied before the page was reconciled.
    QueuedCallFactory(queue=queue, call_control_id="v3:a", enqueued_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
                      left_at=timezone.now(), left_event_at=timezone.now(), leave_reason="bridged", wait_time_secs=9)
    telnyx.get("/queues").respond(200, json=page([telnyx_queue("support")]))
    telnyx.get("/queues/support/calls").respond(200, json=page([queue_call("v3:a", 1)]))
    fetch_and_sync()
    assert QueuedCall.objects.count() == 1 and QueuedCall.objects.get().left_at is not None


def test_sync_reopens_a_stay_an_earlier_sync_closed_by_guess(telnyx):
    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, call_control_id="v3:a", enqueued_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
                      left_at=timezone.now(), leave_reason=QueuedCall.Reason.GONE, wait_time_secs=9)
    telnyx.get("/queues").respond(200, json=page([telnyx_queue("support")]))
    telnyx.get("/queues/support/calls").respond(200, json=page([queue_call("v3:a", 1)]))
    fetch_and_sync()
    stay = QueuedCall.objects.get()
    assert (stay.left_at, stay.leave_reason, stay.position) == (None, "", 1)


def test_sync_leaves_callers_who_entered_during_the_listing(telnyx):
    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, call_control_id="v3:late", enqueued_at=timezone.now() + timedelta(seconds=5))
    telnyx.get("/queues").respond(200, json=page([telnyx_queue("support")]))
    telnyx.get("/queues/support/calls").respond(200, json=page([]))
    assert fetch_and_sync()["closed"] == 0
    assert QueuedCall.objects.get().left_at is None


def test_sync_survives_a_telnyx_outage(telnyx):
    QueuedCallFactory(queue=QueueFactory(name="support"), call_control_id="v3:a")
    telnyx.get("/queues").respond(503, json={})
    assert sync_queues() is None
    assert QueuedCall.objects.get().left_at is None and Queue.objects.get().deleted_at is None


def test_sync_is_found_by_sync_telnyx_and_runs_periodically(settings):
    from portal.sync import full_syncs

    assert full_syncs()["queues"] is fetch_and_sync
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "queues.tasks.sync_queues")
    assert entry["schedule"] > 0


def test_sync_now_button(operator, viewer, client, telnyx):
    telnyx.get("/queues").respond(200, json=page([telnyx_queue("support")]))
    telnyx.get("/queues/support/calls").respond(200, json=page([]))
    client.force_login(viewer)
    assert client.post("/queues/", {"op": "sync"}).status_code == 403
    client.force_login(operator)
    assert client.post("/queues/", {"op": "sync"}).status_code == 302
    assert Queue.objects.get().telnyx_id == "id-support"


def test_queues_gone_from_telnyx_are_closed_in_bulk(listen, django_capture_on_commit_callbacks):
    """Missing queues are marked gone together: their stays closed, history kept, queries not per queue."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from queues.services import queues_sync_missing

    started = timezone.now()

    def missing(count, prefix):
        for i in range(count):
            queue = QueueFactory(name=f"{prefix}-{i}")
            QueuedCallFactory(queue=queue, call_control_id=f"v3:{prefix}{i}", enqueued_at=started - timedelta(minutes=2))

    missing(3, "few")
    listen("queues")
    with CaptureQueriesContext(connection) as few, django_capture_on_commit_callbacks(execute=True):
        assert queues_sync_missing(listed_names=set(), started_at=started) == 3
    listen.received("queues")  # the first board: not counted below
    missing(30, "many")
    with CaptureQueriesContext(connection) as many, django_capture_on_commit_callbacks(execute=True):
        assert queues_sync_missing(listed_names={"few-0"}, started_at=started) == 30
    assert len(many) == len(few)
    assert Queue.objects.filter(deleted_at__isnull=True).count() == 0
    stays = QueuedCall.objects.filter(call_control_id__startswith="v3:many")
    assert {(s.leave_reason, s.wait_time_secs >= 120, s.left_at == started) for s in stays} == {(QueuedCall.Reason.GONE, True, True)}
    assert len(listen.received("queues")) == 1  # the board, once
