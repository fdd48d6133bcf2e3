"""A line renumbered from the earliest place a batch changed, not read whole (queues/rows.line_renumber, issue 25)."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from queues import services
from queues.models import Queue, QueuedCall
from tests.queues.factories import QueuedCallFactory, QueueFactory
from webhooks import shared_rows

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def line():
    """A queue with ten callers waiting in their right places, v3:0 (first) to v3:9."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite renumbers the whole line; .ci/run's PostgreSQL + Redis pass runs it")
    queue = QueueFactory(name="support")
    for i in range(10):
        QueuedCallFactory(queue=queue, call_control_id=f"v3:{i}", enqueued_at=T0 + timedelta(seconds=i), position=i + 1)
    return queue


def places() -> dict[str, int | None]:
    waiting = QueuedCall.objects.filter(left_at__isnull=True).order_by("enqueued_at", "id")
    return dict(waiting.values_list("call_control_id", "position"))


def mark_wrong(ccid: str) -> None:
    """A place the renumbering would correct if it read that part of the line."""
    QueuedCall.objects.filter(call_control_id=ccid).update(position=99)


def test_a_caller_joining_the_end_gets_the_next_place_and_the_line_before_is_not_read(line):
    mark_wrong("v3:2")
    services.queued_call_enter(queue_name="support", call_control_id="v3:new", occurred_at=T0 + timedelta(minutes=5))
    assert places()["v3:new"] == 11  # after the place of the last one waiting before it
    assert places()["v3:2"] == 99  # that part of the line was neither ranked nor written


def test_a_caller_leaving_moves_up_only_those_behind(line):
    mark_wrong("v3:1")
    services.queued_call_leave(queue_name="support", call_control_id="v3:4", occurred_at=T0 + timedelta(minutes=5),
                               reason="leave")
    assert [places()[f"v3:{i}"] for i in (0, 1, 2, 3, 5, 6, 9)] == [1, 99, 3, 4, 5, 6, 9]
    assert "v3:4" not in places()


def test_a_late_call_enqueued_takes_its_place_and_those_behind_move_down(line):
    services.queued_call_enter(queue_name="support", call_control_id="v3:late", occurred_at=T0 + timedelta(seconds=3.5))
    assert list(places().items())[3:6] == [("v3:3", 4), ("v3:late", 5), ("v3:4", 6)]
    assert places()["v3:9"] == 11


def test_a_batch_renumbers_once_from_its_earliest_change(line, django_assert_num_queries):
    mark_wrong("v3:0")
    with shared_rows.batch_writes():
        services.queued_call_enter(queue_name="support", call_control_id="v3:new", occurred_at=T0 + timedelta(minutes=5))
        services.queued_call_leave(queue_name="support", call_control_id="v3:2", occurred_at=T0 + timedelta(minutes=6),
                                   reason="leave")
        services.queued_call_enter(queue_name="support", call_control_id="v3:newer", occurred_at=T0 + timedelta(minutes=7))
        with django_assert_num_queries(3):  # the queue locked and saved, one renumbering from v3:2's place
            shared_rows.flush()
    assert [places()[c] for c in ("v3:0", "v3:1", "v3:3", "v3:9", "v3:new", "v3:newer")] == [99, 2, 3, 9, 10, 11]


def test_a_line_never_numbered_is_ranked_whole(line):
    QueuedCall.objects.update(position=None)
    services.queued_call_enter(queue_name="support", call_control_id="v3:new", occurred_at=T0 + timedelta(minutes=5))
    assert list(places().values()) == list(range(1, 12))


def test_the_whole_line_is_ranked_without_a_starting_point(line):
    from queues.rows import line_renumber

    mark_wrong("v3:2")
    line_renumber(Queue.objects.get())
    assert list(places().values()) == list(range(1, 11))


def test_a_caller_back_in_line_ranks_from_its_new_place_not_from_its_old_stay(line):
    QueuedCallFactory(queue=line, call_control_id="v3:back", enqueued_at=T0 - timedelta(hours=1), position=1,
                      left_at=T0 - timedelta(minutes=50))
    mark_wrong("v3:2")
    services.queued_call_enter(queue_name="support", call_control_id="v3:back", occurred_at=T0 + timedelta(minutes=5))
    assert places()["v3:back"] == 11 and places()["v3:2"] == 99  # its closed stay changes no place


@pytest.mark.parametrize("gone", ["deleted", "gone"])
def test_a_queue_closed_under_its_callers_numbers_those_who_came_after(gone):
    """Stays closed by a queue's deletion (one or in bulk): callers who entered later are first in line again."""
    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, call_control_id="v3:before", enqueued_at=T0, position=1)
    QueuedCallFactory(queue=queue, call_control_id="v3:after", enqueued_at=T0 + timedelta(minutes=2), position=2)
    closed_at = T0 + timedelta(minutes=1)
    if gone == "deleted":
        services.queue_mark_deleted(name="support", at=closed_at)
    else:
        services.queues_mark_gone(names=["support"], at=closed_at)
    assert places() == {"v3:after": 1}


def test_a_line_left_with_skipped_places_is_ranked_whole_again_later_each_time(monkeypatch):
    from queues import rows, tasks

    countdowns = []
    monkeypatch.setattr(tasks.renumber_line, "apply_async", lambda args, countdown: countdowns.append((args, countdown)))
    for attempt in range(1, rows.RENUMBER_ATTEMPTS + 1):
        rows._renumber_soon(7, attempt)
    assert [args for args, _ in countdowns] == [[7, n] for n in range(1, rows.RENUMBER_ATTEMPTS + 1)]
    assert [c for _, c in countdowns][:4] == [0.2, 0.4, 0.8, 1.6]
    assert max(c for _, c in countdowns) == rows.RENUMBER_AGAIN_MAX_SECONDS
    assert 60 < sum(c for _, c in countdowns) < 180  # about two minutes before the queue sync is left to it
