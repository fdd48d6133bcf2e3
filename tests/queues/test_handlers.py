"""call.enqueued / call.dequeued / call.hangup → stays, positions and queue facts, in any order."""
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from queues.models import Queue, QueuedCall

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_ids = itertools.count()


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def enqueued(event_doc, ccid, t, position=1, queue="support", **extra):
    return event_doc("call.enqueued", id=f"enq-{next(_ids)}", occurred_at=at(t), call_control_id=ccid, queue=queue,
                     current_position=position, **extra)


def dequeued(event_doc, ccid, t, reason="bridged", wait=None, position=1, queue="support"):
    return event_doc("call.dequeued", id=f"deq-{next(_ids)}", occurred_at=at(t), call_control_id=ccid, queue=queue,
                     reason=reason, wait_time_secs=wait, queue_position=position)


def waiting_positions(queue="support"):
    return dict(QueuedCall.objects.filter(queue__name=queue, left_at__isnull=True).values_list("call_control_id", "position"))


def test_enqueued_opens_a_stay_with_its_details(post_webhook, event_doc):
    assert post_webhook(enqueued(event_doc, "v3:a", 0, queue_avg_wait_time_secs=30)).status_code == 200
    stay = QueuedCall.objects.get()
    assert (stay.queue.name, stay.call_control_id, stay.position, stay.enqueued_at) == ("support", "v3:a", 1, T0)
    assert (stay.call_leg_id, stay.call_session_id, stay.left_at, stay.is_alive) == ("leg-alice", "session-1", None, True)
    queue = Queue.objects.get()
    assert (queue.average_wait_secs, queue.average_wait_reported_at) == (30, T0)


def test_positions_close_up_as_callers_leave(post_webhook, event_doc):
    for i, ccid in enumerate(["v3:a", "v3:b", "v3:c", "v3:d"]):
        post_webhook(enqueued(event_doc, ccid, i, position=i + 1))
    assert waiting_positions() == {"v3:a": 1, "v3:b": 2, "v3:c": 3, "v3:d": 4}
    post_webhook(dequeued(event_doc, "v3:b", 10, position=2, wait=9))
    assert waiting_positions() == {"v3:a": 1, "v3:c": 2, "v3:d": 3}
    post_webhook(dequeued(event_doc, "v3:a", 11, position=1, wait=11))
    assert waiting_positions() == {"v3:c": 1, "v3:d": 2}
    left = QueuedCall.objects.get(call_control_id="v3:b")
    assert (left.position, left.leave_reason, left.wait_time_secs, left.left_at) == (2, "bridged", 9, T0 + timedelta(seconds=10))


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_positions_and_history_are_the_same_in_any_arrival_order(order, post_webhook, event_doc):
    """a, b, c enter; b leaves: whatever order Telnyx delivers it in, a is 1st, c is 2nd, b left after 5 s."""
    events = [
        enqueued(event_doc, "v3:a", 0, position=1),
        enqueued(event_doc, "v3:b", 1, position=2),
        enqueued(event_doc, "v3:c", 2, position=3),
        dequeued(event_doc, "v3:b", 6, reason="hangup", wait=5, position=2),
    ]
    for i in order:
        post_webhook(events[i])
    assert waiting_positions() == {"v3:a": 1, "v3:c": 2}
    b = QueuedCall.objects.get(call_control_id="v3:b")
    assert (b.enqueued_at, b.left_at, b.leave_reason, b.wait_time_secs, b.is_alive) == (
        T0 + timedelta(seconds=1), T0 + timedelta(seconds=6), "hangup", 5, False
    )
    assert QueuedCall.objects.count() == 3


def test_duplicates_change_nothing(post_webhook, event_doc):
    enter, leave = enqueued(event_doc, "v3:a", 0), dequeued(event_doc, "v3:a", 30, wait=30)
    for document in (enter, leave, enter, leave):
        post_webhook(document)
    # Re-processing the same events (another id, same times: Telnyx redelivered) is also a no-op.
    enter["data"]["id"], leave["data"]["id"] = "enq-again", "deq-again"
    post_webhook(leave)
    post_webhook(enter)
    stay = QueuedCall.objects.get()
    assert (stay.enqueued_at, stay.left_at, stay.wait_time_secs) == (T0, T0 + timedelta(seconds=30), 30)


def test_a_caller_queued_again_starts_a_new_stay(post_webhook, event_doc):
    """The defect: the second stay used to inherit the first one's left_at and showed as gone."""
    post_webhook(enqueued(event_doc, "v3:a", 0))
    post_webhook(dequeued(event_doc, "v3:a", 20, reason="leave", wait=20))
    post_webhook(enqueued(event_doc, "v3:a", 60))
    stays = list(QueuedCall.objects.order_by("enqueued_at"))
    assert len(stays) == 2
    assert stays[0].left_at == T0 + timedelta(seconds=20) and stays[0].leave_reason == "leave"
    assert stays[1].enqueued_at == T0 + timedelta(seconds=60) and stays[1].left_at is None
    assert waiting_positions() == {"v3:a": 1}


def test_two_stays_delivered_backwards(post_webhook, event_doc):
    events = [
        enqueued(event_doc, "v3:a", 0), dequeued(event_doc, "v3:a", 20, reason="leave", wait=20),
        enqueued(event_doc, "v3:a", 60), dequeued(event_doc, "v3:a", 90, reason="bridged", wait=30),
    ]
    for document in reversed(events):
        post_webhook(document)
    stays = list(QueuedCall.objects.order_by("enqueued_at").values_list("enqueued_at", "left_at", "leave_reason"))
    assert stays == [
        (T0, T0 + timedelta(seconds=20), "leave"),
        (T0 + timedelta(seconds=60), T0 + timedelta(seconds=90), "bridged"),
    ]


def test_a_missed_dequeue_is_closed_when_the_call_queues_again(post_webhook, event_doc):
    post_webhook(enqueued(event_doc, "v3:a", 0))
    post_webhook(enqueued(event_doc, "v3:a", 100))
    old, new = QueuedCall.objects.order_by("enqueued_at")
    assert (old.left_at, old.leave_reason, old.wait_time_secs) == (T0 + timedelta(seconds=100), "", 100)
    assert new.left_at is None


def test_hangup_marks_a_kept_caller_not_alive(post_webhook, event_doc):
    post_webhook(enqueued(event_doc, "v3:cc-alice", 0))
    hangup = event_doc("call.hangup", id="hangup-1", occurred_at=at(5), call_control_id="v3:cc-alice")
    post_webhook(hangup)
    stay = QueuedCall.objects.get()
    assert stay.left_at is None and stay.is_alive is False


def test_keep_after_hangup_and_max_size_come_from_the_portals_enqueue_command(post_webhook, event_doc):
    from portal.models import Command
    from tests.factories import CommandFactory

    command = CommandFactory(action="call.enqueue", target="v3:a", status="succeeded",
                             params={"queue_name": "fresh", "keep_after_hangup": True, "max_size": 7})
    Command.objects.filter(pk=command.pk).update(created_at=T0 - timedelta(seconds=2))
    post_webhook(enqueued(event_doc, "v3:a", 0, queue="fresh"))
    assert QueuedCall.objects.get().keep_after_hangup is True
    assert Queue.objects.get(name="fresh").max_size == 7


def test_enqueued_revives_a_deleted_queue(post_webhook, event_doc):
    Queue.objects.create(name="support", deleted_at=T0 - timedelta(hours=1))
    post_webhook(enqueued(event_doc, "v3:a", 0))
    assert Queue.objects.get().deleted_at is None


def test_board_and_queue_page_are_published_after_commit(post_webhook, event_doc, listen):
    queue = Queue.objects.create(name="support")
    listen("queues")
    listen(f"queue.{queue.pk}")
    post_webhook(enqueued(event_doc, "v3:a", 0))
    board = listen.received("queues")
    assert len(board) == 1 and 'id="queue-table"' in board[0] and "hx-swap-oob" in board[0] and "support" in board[0]
    page = listen.received(f"queue.{queue.pk}")
    assert len(page) == 1 and "/queues/support/live/" in page[0]



@pytest.mark.parametrize("length", [3, 60])
def test_renumbering_is_one_statement_however_long_the_line(length, django_assert_num_queries):
    from queues.rows import line_renumber
    from tests.queues.factories import QueuedCallFactory, QueueFactory

    queue = QueueFactory(name="support")
    for i in reversed(range(length)):  # stored newest first, every place wrong
        QueuedCallFactory(queue=queue, call_control_id=f"v3:{i}", enqueued_at=T0 + timedelta(seconds=i), position=None)
    QueuedCallFactory(queue=queue, call_control_id="v3:gone", enqueued_at=T0 - timedelta(seconds=5), position=7,
                      left_at=T0)
    with django_assert_num_queries(1):
        line_renumber(queue)
    assert waiting_positions() == {f"v3:{i}": i + 1 for i in range(length)}
    assert QueuedCall.objects.get(call_control_id="v3:gone").position == 7  # a left caller keeps its last place


def test_a_caller_entering_a_known_queue_locks_it_with_one_statement_and_no_savepoint():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from queues import services

    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    services.queued_call_enter(queue_name="support", call_control_id="v3:first", occurred_at=at)
    with CaptureQueriesContext(connection) as queries:
        stay = services.queued_call_enter(queue_name="support", call_control_id="v3:second", occurred_at=at + timedelta(seconds=5))
    statements = [q["sql"] for q in queries]
    assert sum('FROM "queues_queue"' in sql and sql.startswith("SELECT") for sql in statements) == 1
    assert not any(sql.startswith("SAVEPOINT") for sql in statements)
    stay.refresh_from_db()
    assert (stay.queue.name, stay.position, Queue.objects.count()) == ("support", 2, 1)
