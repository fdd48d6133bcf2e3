"""Partitioned drains (issue 25): several drains at once, each partition in order, by one drain at a time."""
import json
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from calls.models import Call
from tests.conftest import load_event
from webhooks import drain, partitions, registry, store
from webhooks.models import WebhookEvent
from webhooks.tasks import process_pending

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LIFECYCLE = ["call.initiated", "call.answered", "call.playback.started", "call.playback.ended", "call.bridged", "call.hangup"]


def store_calls(calls: int, *, reverse: bool = False) -> dict[str, list[str]]:
    """Store (not apply) a lifecycle per call; {call_session_id: its event ids in occurred_at order}."""
    expected = {}
    for c in range(calls):
        session = f"session-{c}"
        ids = []
        for step, event_type in enumerate(LIFECYCLE):
            doc = load_event(event_type)
            data = doc.get("data", doc)
            data["id"] = f"{session}-{step}"
            data["occurred_at"] = (T0 + timedelta(seconds=step)).isoformat().replace("+00:00", "Z")
            data["payload"].update(call_control_id=f"v3:leg-{c}", call_session_id=session)
            ids.append((data, json.dumps(doc).encode()))
        expected[session] = [data["id"] for data, _ in ids]
        for data, raw in reversed(ids) if reverse else ids:
            store.event_store(data=data, raw_body=raw)
    return expected


@pytest.fixture
def applied(monkeypatch):
    """Every handler run, as (drain thread, event id, session, partition); fails on a partition applied twice at once."""
    runs, active, overlaps, lock = [], defaultdict(set), [], threading.Lock()
    original = registry.handlers_for

    def handlers_for(event_type):
        def record(event):
            me = threading.current_thread().name
            with lock:
                others = active[event.partition] - {me}
                if others:
                    overlaps.append((event.partition, me, others))
                active[event.partition].add(me)
                runs.append((me, event.event_id, event.call_session_id, event.partition))
            time.sleep(0.001)  # a handler's time: the other drain has a chance to overlap, if it could
            with lock:
                active[event.partition].discard(me)
        return [record, *original(event_type)]

    monkeypatch.setattr(registry, "handlers_for", handlers_for)
    return runs, overlaps


def drain_in_threads(count: int, **kwargs) -> dict[str, int]:
    totals = {}

    def run(name):
        try:
            totals[name] = drain.events_drain(**kwargs)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(f"drain-{i}",), name=f"drain-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return totals


def test_a_call_and_its_conference_legs_share_a_partition(settings):
    settings.WEBHOOK_PARTITIONS = 16
    joined = {"call_session_id": "s-1", "conference_id": "conf-1", "call_control_id": "v3:a"}
    hangup = {"call_session_id": "s-1", "call_control_id": "v3:a"}
    speak = {"conference_id": "conf-1", "creator_call_session_id": "s-1"}
    keys = [store.partition_of(p, store.resource_keys(p), "e") for p in (joined, hangup, speak)]
    assert len(set(keys)) == 1 and 0 <= keys[0] < 16
    spread = {store.partition_of({"call_session_id": f"s-{i}"}, store.resource_keys({"call_session_id": f"s-{i}"}), "e")
              for i in range(200)}
    assert spread == set(range(16))  # calls spread over every partition


def test_two_drains_apply_one_backlog_each_call_in_order_and_once(postgres, applied):
    runs, overlaps = applied
    expected = store_calls(40)
    totals = drain_in_threads(2, batch_size=10)
    assert sum(totals.values()) == 40 * len(LIFECYCLE)
    assert all(totals.get(f"drain-{i}", 0) > 0 for i in range(2)), totals  # both drains took a share
    assert overlaps == []
    order = defaultdict(list)
    for _, event_id, session, _ in runs:
        order[session].append(event_id)
    assert dict(order) == expected  # every call's events once, in occurred_at order
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {(WebhookEvent.Status.PROCESSED, 1)}
    assert set(Call.objects.values_list("state", flat=True)) == {Call.State.HANGUP}
    for _, _, session, partition in runs:
        assert partition == WebhookEvent.objects.filter(call_session_id=session).values_list("partition", flat=True)[0]


def test_reverse_order_delivery_converges_with_two_drains(postgres, applied):
    store_calls(20, reverse=True)
    drain_in_threads(2, batch_size=7)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
    calls = Call.objects.all()
    assert len(calls) == 20
    assert {c.state for c in calls} == {Call.State.HANGUP}
    assert all(c.last_event_at == T0 + timedelta(seconds=len(LIFECYCLE) - 1) for c in calls)


def test_a_drain_killed_mid_batch_loses_nothing_and_frees_its_partitions(postgres, monkeypatch):
    store_calls(10)
    inside, original = threading.Event(), registry.handlers_for
    victim = {}

    def handlers_for(event_type):
        def stall(event):
            if threading.current_thread().name == "victim":
                victim["pid"] = connection.connection.info.backend_pid
                inside.set()
                time.sleep(30)  # killed here, holding its batch and its partitions
        return [stall, *original(event_type)]

    monkeypatch.setattr(registry, "handlers_for", handlers_for)

    def run():
        try:
            drain.events_drain(batch_size=15)
        except Exception:  # noqa: BLE001 - its connection is terminated under it
            pass
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="victim", daemon=True)
    thread.start()
    assert inside.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND pid = %s",
                       [partitions.PARTITION_CLASS, victim["pid"]])
        assert cursor.fetchone()[0] == 8  # alone, it held every partition
        cursor.execute("SELECT pg_terminate_backend(%s)", [victim["pid"]])  # the worker dies mid-batch
    monkeypatch.setattr(registry, "handlers_for", original)
    for _ in range(100):  # the server lets go of a dead session's locks as it ends
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s", [victim["pid"]])
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.05)
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).count() == 10 * len(LIFECYCLE)
    assert drain.events_drain(batch_size=50) == 10 * len(LIFECYCLE)
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {(WebhookEvent.Status.PROCESSED, 1)}
    assert set(Call.objects.values_list("state", flat=True)) == {Call.State.HANGUP}


def test_drains_share_partitions_and_take_them_back(postgres):
    other = connections.create_connection("default")  # a second drain's own session
    first, second = partitions.Holdings(), partitions.Holdings(other)
    first.join()
    first.balance(force=True)
    assert first.held == set(range(8))
    try:
        second.join()
        second.balance(force=True)
        assert second.held == set()  # all held: the first lets go at its next balance
        first.balance(force=True)
        assert len(first.held) == 4
        second.balance(force=True)
        assert first.held | second.held == set(range(8)) and not first.held & second.held
        second.leave()
        first.balance(force=True)
        assert first.held == set(range(8))
    finally:
        first.leave()
        second.leave()
        other.close()


def test_a_batch_cancelled_by_a_deadlock_is_applied_again_whole(monkeypatch, settings):
    """PostgreSQL cancels one of two drains that wait on each other's rows: that batch rolls back and runs again."""
    import psycopg
    from django.db import OperationalError

    from webhooks import apply

    monkeypatch.setattr(process_pending, "delay", lambda *a, **k: None)
    store_calls(2)
    real, calls = apply.apply_events, []

    def deadlocking(events, **kwargs):
        calls.append(len(events))
        if len(calls) == 1:
            try:
                raise psycopg.errors.DeadlockDetected("deadlock detected")
            except psycopg.errors.DeadlockDetected as exc:
                raise OperationalError("deadlock detected") from exc
        return real(events, **kwargs)

    monkeypatch.setattr(drain, "apply_events", deadlocking)
    assert drain.events_process_batch(limit=50) == 2 * len(LIFECYCLE)
    assert calls == [2 * len(LIFECYCLE)] * 2  # the whole batch again, not event by event
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {(WebhookEvent.Status.PROCESSED, 1)}


def test_a_backlog_asks_for_one_more_drain_at_a_time(monkeypatch, settings):
    """A full batch queues one helper drain task, which an idle events worker anywhere takes (no operator)."""
    from types import SimpleNamespace

    asked = []
    monkeypatch.setattr(drain, "drain_again", lambda: asked.append(1))
    monkeypatch.setitem(drain.celery_app.conf, "task_always_eager", False)  # a real broker: workers elsewhere
    settings.WEBHOOK_REBALANCE_SECONDS = 0.5
    holding_many = SimpleNamespace(locking=True, held={0, 1, 2})
    drain._ask_for_help(holding_many)
    drain._ask_for_help(holding_many)  # within the period: every drain together asks once
    assert asked == [1]
    drain._ask_for_help(SimpleNamespace(locking=True, held={3}))  # one partition: nothing to share
    drain._ask_for_help(SimpleNamespace(locking=False, held={0, 1}))  # SQLite: one drain
    assert asked == [1]


def test_a_claim_takes_the_oldest_events_of_its_partitions_only(postgres):
    from django.db import transaction

    expected = store_calls(4)
    partition_of = dict(WebhookEvent.objects.values_list("call_session_id", "partition"))
    mine = {partition_of["session-0"], partition_of["session-2"]}
    held = [value for value in range(partitions.MAX_PARTITIONS) if value % 8 in mine]
    wanted = [pk for pk, session in WebhookEvent.objects.order_by("received_at", "id").values_list("pk", "call_session_id")
              if partition_of[session] in mine][:7]
    with transaction.atomic():
        claimed = drain._claim_pending(7, held)
    assert [event.pk for event in claimed] == wanted  # the oldest seven of those partitions, in order
    assert {event.call_session_id for event in claimed} <= {s for s in expected if partition_of[s] in mine}


def test_a_drain_plans_without_jit_and_gives_the_setting_back(postgres, monkeypatch):
    """PostgreSQL's JIT compiled each claim of a backlog (12-15 ms for a 6 ms query)."""
    seen, original = [], registry.handlers_for

    def handlers_for(event_type):
        def look(event):
            with connection.cursor() as cursor:
                cursor.execute("SHOW jit")
                seen.append(cursor.fetchone()[0])
        return [look, *original(event_type)]

    monkeypatch.setattr(registry, "handlers_for", handlers_for)
    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")
    store_calls(1)
    drain.events_drain(batch_size=50)
    assert seen and set(seen) == {"off"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "on"
