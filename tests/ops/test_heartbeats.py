"""Heartbeats in the shared database: worker bootstep, beat scheduler, live sockets, sync outcomes."""
from types import SimpleNamespace

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from ops import selectors
from ops.models import Heartbeat
from portal import health, live_sockets
from portal.celery import app as celery_app
from portal.ops_celery import HeartbeatScheduler, WorkerHeartbeat
from portal.sync import record_sync


class FakeTimer:
    """Records what the bootstep schedules instead of running it."""

    def __init__(self):
        self.scheduled = []

    def call_repeatedly(self, seconds, function, args, priority=0):
        self.scheduled.append((seconds, function, args))
        return SimpleNamespace(cancel=lambda: self.scheduled.clear())


@pytest.mark.django_db(transaction=True)
def test_worker_bootstep_writes_its_queues_repeats_and_leaves_on_stop():
    worker = SimpleNamespace(hostname="events@host-a", app=celery_app, timer=FakeTimer(), concurrency=4,
                             pool_cls="celery.concurrency.solo:TaskPool")
    step = WorkerHeartbeat(worker)
    step.start(worker)
    row = Heartbeat.objects.get(kind=Heartbeat.Kind.WORKER)
    assert row.name.startswith("events@host-a:")
    assert sorted(row.detail["queues"]) == sorted(settings.PORTAL_TASK_QUEUES)
    assert row.detail["concurrency"] == 4
    assert health.run_check("workers", health.check_workers).ok
    seconds, function, args = worker.timer.scheduled[0]
    assert seconds >= 1
    Heartbeat.objects.filter(pk=row.pk).update(seen_at=timezone.now() - timezone.timedelta(minutes=5))
    assert not health.run_check("workers", health.check_workers).ok  # stale: the process is gone
    function(*args)  # the next heartbeat
    assert health.run_check("workers", health.check_workers).ok
    step.stop(worker)
    assert not Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER).exists()
    assert worker.timer.scheduled == []


@pytest.mark.django_db(transaction=True)
def test_beat_scheduler_writes_its_heartbeat_and_removes_it_on_close(tmp_path):
    scheduler = HeartbeatScheduler(app=celery_app, schedule_filename=str(tmp_path / "schedule"), lazy=False)
    try:
        wait = scheduler.tick()
        assert 0 <= wait <= 1  # wakes at least once per heartbeat period (1 s at the least)
        row = Heartbeat.objects.get(kind=Heartbeat.Kind.BEAT)
        assert "webhooks-sweep-unprocessed" in row.detail["schedule"]
        assert health.run_check("beat", health.check_beat).ok
    finally:
        scheduler.close()
    assert not Heartbeat.objects.filter(kind=Heartbeat.Kind.BEAT).exists()
    assert not health.run_check("beat", health.check_beat).ok


@pytest.mark.django_db(transaction=True)
def test_old_process_rows_are_pruned_but_sync_rows_kept(tmp_path):
    old = timezone.now() - timezone.timedelta(days=2)
    Heartbeat.objects.create(kind=Heartbeat.Kind.WORKER, name="gone:1", seen_at=old)
    Heartbeat.objects.create(kind=Heartbeat.Kind.SYNC, name="queues", seen_at=old, detail={"outcome": "ok"})
    scheduler = HeartbeatScheduler(app=celery_app, schedule_filename=str(tmp_path / "schedule"), lazy=False)
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    assert list(Heartbeat.objects.values_list("kind", "name")) == [("sync", "queues")]


@pytest.mark.django_db(transaction=True)
async def test_live_sockets_are_counted_by_the_consumer_and_reported_to_the_database():
    from channels.db import database_sync_to_async
    from channels.routing import URLRouter

    from portal.routing import websocket_urlpatterns
    from tests.factories import UserFactory

    user = await database_sync_to_async(UserFactory)(username="sock", role="Viewer")
    before = live_sockets.sockets.count
    sockets = []
    for _ in range(2):
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/?subscribe=dashboard")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        sockets.append(communicator)
    assert live_sockets.sockets.count == before + 2
    await database_sync_to_async(live_sockets.sockets.report)()
    assert await database_sync_to_async(selectors.live_sockets)() == before + 2
    await sockets[0].disconnect()
    assert live_sockets.sockets.count == before + 1
    await database_sync_to_async(live_sockets.sockets.report)()
    assert await database_sync_to_async(selectors.live_sockets)() == before + 1
    await sockets[1].disconnect()
    assert live_sockets.sockets.count == before


@pytest.mark.django_db
def test_a_refused_socket_is_not_counted():
    from asgiref.sync import async_to_sync
    from channels.routing import URLRouter
    from django.contrib.auth.models import AnonymousUser

    from portal.routing import websocket_urlpatterns

    before = live_sockets.sockets.count

    async def attempt():
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/?subscribe=dashboard")
        communicator.scope["user"] = AnonymousUser()
        connected, code = await communicator.connect()
        return connected, code

    assert async_to_sync(attempt)() == (False, 4401)
    assert live_sockets.sockets.count == before


@pytest.mark.django_db
def test_record_sync_keeps_the_last_success_through_a_failure():
    record_sync("conferences", "ok", created=3)
    first = {row["name"]: row for row in selectors.last_syncs()}["conferences"]
    assert first["outcome"] == "ok" and first["last_success_at"] is not None
    record_sync("conferences", "failed", error="503 Service unavailable: try later")
    second = {row["name"]: row for row in selectors.last_syncs()}["conferences"]
    assert second["outcome"] == "failed"
    assert second["error"] == "503 Service unavailable: try later"
    assert second["last_success_at"] == first["last_success_at"]
    assert second["ran_at"] >= first["ran_at"]


@pytest.mark.django_db
def test_conference_sync_records_its_outcome(telnyx):
    from conferencing.tasks import sync_conferences

    telnyx.get("/conferences").respond(200, json={"data": [], "meta": {"total_pages": 1, "page_number": 1}})
    sync_conferences()
    assert {row["name"]: row for row in selectors.last_syncs()}["conferences"]["outcome"] == "ok"
    telnyx.get("/conferences").respond(503, json={"errors": [{"title": "Service unavailable"}]})
    sync_conferences()
    row = {row["name"]: row for row in selectors.last_syncs()}["conferences"]
    assert row["outcome"] == "failed" and "Service unavailable" in row["error"]


EMPTY_PAGE = {"data": [], "meta": {"total_pages": 1, "page_number": 1, "total_results": 0}}


@pytest.mark.django_db
def test_queue_sync_records_its_outcome(telnyx):
    from queues.tasks import sync_queues

    telnyx.get("/queues").respond(200, json=EMPTY_PAGE)
    sync_queues()
    assert {row["name"]: row for row in selectors.last_syncs()}["queues"]["outcome"] == "ok"
    telnyx.get("/queues").respond(500, json={"errors": [{"title": "Server error"}]})
    sync_queues()
    assert {row["name"]: row for row in selectors.last_syncs()}["queues"]["outcome"] == "failed"


@pytest.mark.django_db
def test_recordings_catch_up_records_both_lists(telnyx):
    from recordings.tasks import catch_up_recordings

    telnyx.get("/recordings").respond(200, json=EMPTY_PAGE)
    telnyx.get("/recording_transcriptions").respond(200, json=EMPTY_PAGE)
    catch_up_recordings()
    rows = {row["name"]: row for row in selectors.last_syncs()}
    assert rows["recordings"]["outcome"] == rows["transcriptions"]["outcome"] == "ok"
    telnyx.get("/recordings").respond(401, json={"errors": [{"title": "Unauthorized"}]})
    catch_up_recordings()
    rows = {row["name"]: row for row in selectors.last_syncs()}
    assert rows["recordings"]["outcome"] == "failed" and "Unauthorized" in rows["recordings"]["error"]
