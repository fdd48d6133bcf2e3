"""Rows several drain partitions write (a queue, a conference) are locked only at the end of a batch (issue 25)."""
import json
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connections, transaction

from conferencing import services as conferences
from conferencing.models import Conference, Participant
from queues import services as queues
from queues.models import Queue, QueuedCall
from tests.conftest import load_event
from tests.webhooks.test_partitions import drain_in_threads
from webhooks import batch_cache, registry, shared_rows, store
from webhooks.apply import apply_events
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def stored(event_type: str, event_id: str, at: datetime, **payload) -> None:
    doc = load_event(event_type)
    data = doc.get("data", doc)
    data["id"], data["occurred_at"] = event_id, at.isoformat().replace("+00:00", "Z")
    data["payload"].update(payload)
    store.event_store(data=data, raw_body=json.dumps(doc).encode())


def locked_elsewhere(table: str, pk: int) -> bool:
    """Whether another session finds the row locked (FOR UPDATE NOWAIT)."""
    other = connections.create_connection("default")
    other.ensure_connection()
    raw = other.connection
    try:
        raw.execute("BEGIN")
        raw.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])
        return False
    except psycopg.errors.LockNotAvailable:
        return True
    finally:
        raw.execute("ROLLBACK")
        other.close()


def test_a_batch_locks_its_queue_and_conference_rows_only_at_its_end(postgres):  # noqa: F811
    queue = Queue.objects.create(name="desk", created_at=T0)
    conference = Conference.objects.create(conference_id="conf-1")
    with transaction.atomic(), batch_cache.batch_scope(), shared_rows.batch_writes():
        queues.queued_call_enter(queue_name="desk", call_control_id="v3:a", occurred_at=T0 + timedelta(seconds=1))
        conferences.participant_joined(conference_id="conf-1", call_control_id="v3:a", occurred_at=T0)
        conferences.floor_changed(conference_id="conf-1", call_control_id="v3:a", occurred_at=T0 + timedelta(seconds=2))
        # Every event of the batch applied, and another drain can still write both rows.
        assert not locked_elsewhere("queues_queue", queue.pk)
        assert not locked_elsewhere("conferencing_conference", conference.pk)
        shared_rows.flush()
        assert locked_elsewhere("queues_queue", queue.pk)
        assert locked_elsewhere("conferencing_conference", conference.pk)
    queue.refresh_from_db()
    conference.refresh_from_db()
    assert queue.last_event_at == T0 + timedelta(seconds=1)
    assert conference.floor_changed_at == T0 + timedelta(seconds=2)
    assert conference.status == Conference.Status.IN_PROGRESS
    assert list(Participant.objects.values_list("call_control_id", "speaking")) == [("v3:a", True)]
    assert list(QueuedCall.objects.values_list("call_control_id", "position")) == [("v3:a", 1)]


def test_a_batch_records_its_outcomes_before_it_locks_the_shared_rows(postgres):  # noqa: F811
    """The shared rows are held from their lock to the commit only: the batch's own writes come first."""
    from django.test.utils import CaptureQueriesContext

    stored("call.enqueued", "enq-1", T0, call_control_id="v3:a", queue="desk")
    with transaction.atomic(), CaptureQueriesContext(connections["default"]) as captured:
        apply_events(list(WebhookEvent.objects.all()), optimistic=True)
    statements = [q["sql"] for q in captured.captured_queries]
    locked = next(i for i, sql in enumerate(statements) if '"queues_queue"' in sql and "FOR NO KEY UPDATE" in sql)
    recorded = next(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "webhooks_webhookevent"'))
    assert recorded < locked
    assert not any(sql.startswith('UPDATE "webhooks_webhookevent"') for sql in statements[locked:])
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_two_drains_sharing_queues_and_conferences_converge(postgres):  # noqa: F811
    """Callers of two queues and three conferences, in every partition, applied by two drains at once."""
    callers = 24
    for c in range(callers):
        leg, session = f"v3:leg-{c}", f"session-{c}"
        stored("call.enqueued", f"enq-{c}", T0 + timedelta(seconds=c), call_control_id=leg, call_session_id=session,
               queue=f"line-{c % 2}", current_position=None)
        if c % 3 == 0:
            stored("call.dequeued", f"deq-{c}", T0 + timedelta(seconds=40 + c), call_control_id=leg,
                   call_session_id=session, queue=f"line-{c % 2}", reason="bridged", queue_position=None)
        stored("conference.participant.joined", f"join-{c}", T0 + timedelta(seconds=c), call_control_id=leg,
               call_session_id=session, conference_id=f"room-{c % 3}")
        stored("conference.floor.changed", f"floor-{c}", T0 + timedelta(seconds=60 + c), call_control_id=leg,
               call_session_id=session, conference_id=f"room-{c % 3}")
    assert len(set(WebhookEvent.objects.values_list("partition", flat=True))) > 4  # spread over the partitions
    totals = drain_in_threads(2, batch_size=5)
    assert sum(totals.values()) == WebhookEvent.objects.count()
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {(WebhookEvent.Status.PROCESSED, 1)}
    for q in range(2):
        queue = Queue.objects.get(name=f"line-{q}")
        members = [c for c in range(callers) if c % 2 == q]
        assert queue.last_event_at == T0 + timedelta(seconds=max(40 + c if c % 3 == 0 else c for c in members))
        waiting = list(queue.calls.filter(left_at__isnull=True).order_by("enqueued_at").values_list("call_control_id", "position"))
        assert waiting == [(f"v3:leg-{c}", place) for place, c in enumerate((c for c in members if c % 3), start=1)]
    for r in range(3):
        conference = Conference.objects.get(conference_id=f"room-{r}")
        last = max(c for c in range(callers) if c % 3 == r)
        assert conference.floor_changed_at == T0 + timedelta(seconds=60 + last)
        assert list(conference.participants.filter(speaking=True).values_list("call_control_id", flat=True)) == [f"v3:leg-{last}"]
        assert conference.participants.count() == callers // 3


@pytest.mark.django_db
def test_an_event_that_fails_in_the_event_by_event_pass_leaves_no_shared_write(monkeypatch):
    Conference.objects.create(conference_id="conf-1")
    for n, leg in enumerate(["v3:a", "v3:b"]):
        stored("conference.participant.joined", f"join-{leg}", T0, call_control_id=leg, conference_id="conf-1")
        stored("conference.floor.changed", f"floor-{leg}", T0 + timedelta(seconds=1 + n), call_control_id=leg,
               conference_id="conf-1")
    original = registry.handlers_for

    def handlers_for(event_type):
        def fail_after(event):
            if event.event_id == "floor-v3:b":
                raise RuntimeError("a handler bug after the floor change was recorded")
        return [*original(event_type), fail_after]

    monkeypatch.setattr(registry, "handlers_for", handlers_for)
    with transaction.atomic():
        apply_events(list(WebhookEvent.objects.order_by("id")))
    conference = Conference.objects.get()
    assert conference.floor_changed_at == T0 + timedelta(seconds=1)  # b's later change went with its event
    assert list(conference.participants.filter(speaking=True).values_list("call_control_id", flat=True)) == ["v3:a"]
    assert WebhookEvent.objects.get(event_id="floor-v3:b").status == WebhookEvent.Status.FAILED


class HeldElsewhere:
    """Another session holding rows FOR NO KEY UPDATE, as a drain's batch holds the stays it wrote."""

    def __init__(self, sql: str, params):
        self.other = connections.create_connection("default")
        self.other.ensure_connection()
        self.other.connection.execute("BEGIN")
        self.other.connection.execute(sql, params)

    def release(self):
        self.other.connection.execute("ROLLBACK")
        self.other.close()


def test_a_renumbering_skips_a_stay_another_batch_holds_and_comes_back_for_it(postgres, monkeypatch):  # noqa: F811
    from queues import rows, tasks

    queue = Queue.objects.create(name="desk", created_at=T0)
    first, second = (QueuedCall.objects.create(queue=queue, call_control_id=f"v3:{n}", enqueued_at=T0 + timedelta(seconds=n),
                                               position=n + 5) for n in (1, 2))
    again = []
    monkeypatch.setattr(rows, "_renumber_soon", lambda pk, attempt: again.append((pk, attempt)))
    held = HeldElsewhere("SELECT 1 FROM queues_queuedcall WHERE id = %s FOR NO KEY UPDATE", [second.pk])
    try:
        with transaction.atomic():
            rows.line_renumber(Queue.objects.select_for_update(no_key=True).get(pk=queue.pk))  # does not wait
    finally:
        held.release()
    assert list(QueuedCall.objects.order_by("pk").values_list("position", flat=True)) == [1, 7]  # second skipped
    assert again == [(queue.pk, 1)]  # ... and asked for again after the commit
    tasks.renumber_line(queue.pk, 1)
    assert list(QueuedCall.objects.order_by("pk").values_list("position", flat=True)) == [1, 2]
    assert again == [(queue.pk, 1)]  # nothing skipped this time: done


def test_a_renumbering_locks_only_the_stays_whose_place_changes(postgres, monkeypatch):  # noqa: F811
    """A stay already in its place is neither locked nor written: one another batch holds is no reason to come back."""
    from queues import rows

    queue = Queue.objects.create(name="desk", created_at=T0)
    stays = [QueuedCall.objects.create(queue=queue, call_control_id=f"v3:{n}", enqueued_at=T0 + timedelta(seconds=n),
                                       position=place) for n, place in ((1, 1), (2, 9), (3, 3))]
    again = []
    monkeypatch.setattr(rows, "_renumber_soon", lambda pk, attempt: again.append((pk, attempt)))
    held = HeldElsewhere("SELECT 1 FROM queues_queuedcall WHERE id = %s FOR NO KEY UPDATE", [stays[0].pk])
    try:
        with transaction.atomic():
            rows.line_renumber(Queue.objects.select_for_update(no_key=True).get(pk=queue.pk))
            probe = HeldElsewhere("SELECT 1", [])  # what another transaction can still lock meanwhile
            free = {row[0] for row in probe.other.connection.execute(
                "SELECT id FROM queues_queuedcall WHERE id = ANY(%s) FOR NO KEY UPDATE SKIP LOCKED",
                [[s.pk for s in stays]]).fetchall()}
            probe.release()
    finally:
        held.release()
    assert list(QueuedCall.objects.order_by("pk").values_list("position", flat=True)) == [1, 2, 3]
    assert again == []  # the held stay was in its place: nothing skipped
    assert free == {stays[2].pk}  # in its place: not locked by the renumbering (stays[1] is, stays[0] held)


def test_a_removal_waits_for_the_stay_before_taking_its_queue(postgres):  # noqa: F811
    """A drain's batch holds a call's stay until its commit and takes the queue's row at its end: a removal
    that took the queue first and then waited for the stay would deadlock with it."""
    import threading

    queue = Queue.objects.create(name="desk", created_at=T0)
    stay = QueuedCall.objects.create(queue=queue, call_control_id="v3:a", enqueued_at=T0, position=1)
    held = HeldElsewhere("SELECT 1 FROM queues_queuedcall WHERE id = %s FOR NO KEY UPDATE", [stay.pk])
    removal = threading.Thread(target=lambda: (queues.queued_call_removed(queue_name="desk", call_control_id="v3:a"),
                                               connections.close_all()))
    removal.start()
    try:
        time.sleep(0.5)
        assert removal.is_alive()  # waiting for the stay ...
        assert not locked_elsewhere("queues_queue", queue.pk)  # ... without holding the queue
    finally:
        held.release()
    removal.join(10)
    stay.refresh_from_db()
    assert stay.leave_reason == QueuedCall.Reason.REMOVED and stay.left_at is not None
