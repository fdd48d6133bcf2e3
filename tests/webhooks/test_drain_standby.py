"""A drain task queued while running drains hold every partition stands by instead of halving their batches (issue 25)."""
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connections

from calls.models import Call
from tests.webhooks.test_partitions import LIFECYCLE, store_calls
from webhooks import drain, drain_flag, partitions
from webhooks.models import WebhookEvent
from webhooks.tasks import process_pending

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_call_for_help():
    cache.delete_many([drain.HELP_KEY, drain.STANDBY_KEY])
    yield
    cache.delete_many([drain.HELP_KEY, drain.STANDBY_KEY])


@pytest.fixture
def holder(postgres):
    """Another drain's session holding every partition, as a lone running drain does; `.leave()` ends it."""
    other = connections.create_connection("default")
    holdings = partitions.Holdings(other)
    holdings.join()
    holdings.balance(force=True)
    assert holdings.held == set(range(8))
    yield holdings
    holdings.leave()
    other.close()


def run_in_thread(**kwargs):
    outcome = {}

    def run():
        try:
            outcome["applied"] = drain.events_drain(**kwargs)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def pending() -> int:
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).count()


def test_all_held_reads_the_partition_locks(holder):
    assert partitions.all_held()
    holder.release_all()
    assert not partitions.all_held()


def test_a_standby_drain_waits_while_another_holds_every_partition_then_takes_over(holder):
    store_calls(3)
    drain_flag._flag_set()
    thread, outcome = run_in_thread(standby=True, batch_size=50)
    time.sleep(0.4)
    assert thread.is_alive() and pending() == 3 * len(LIFECYCLE)  # nothing claimed beside the holder
    assert cache.get(drain_flag.NUDGE_KEY) is not None  # still "a drain is coming": it has not started claiming
    holder.leave()  # the holder ends: its partitions are free
    thread.join(10)
    assert not thread.is_alive()
    assert outcome["applied"] == 3 * len(LIFECYCLE)
    assert pending() == 0
    assert set(Call.objects.values_list("state", flat=True)) == {Call.State.HANGUP}
    assert cache.get(drain_flag.NUDGE_KEY) is None  # cleared once it started claiming


def test_a_drain_not_on_standby_takes_its_share_at_once(holder):
    """The drains a test or the bench starts (and eager tasks) never stand by: the holder lets go of half."""
    store_calls(3)
    thread, outcome = run_in_thread(batch_size=50, max_seconds=1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(holder.held) == 8:
        holder.balance(force=True)  # the holder's next balance: two members now
        time.sleep(0.02)
    assert len(holder.held) == 4
    thread.join(10)
    assert outcome["applied"] > 0  # its half of the partitions' events


def test_a_call_for_help_ends_standing_by(holder, monkeypatch):
    slept = []
    monkeypatch.setattr(drain, "_pause", lambda seconds: (slept.append(seconds), cache.set(drain.HELP_KEY, 1)))
    assert drain._stand_by(time.monotonic() + 5)
    assert slept == [drain.STANDBY_POLL_SECONDS]  # one look while all were held, then the call for help
    assert cache.get(drain.STANDBY_KEY) is None  # the next task may stand by


def test_standing_by_ends_at_its_deadline(holder):
    started = time.monotonic()
    assert drain._stand_by(started + 0.2)  # then it drains: the holders may all be gone by now
    assert 0.2 <= time.monotonic() - started < 2


def test_one_task_stands_by_and_the_next_ends_at_once(holder):
    """The standing task is the drain still to come; a second waiting beside it would only take a slot."""
    store_calls(1)
    thread, outcome = run_in_thread(standby=True, batch_size=50)
    deadline = time.monotonic() + 5
    while cache.get(drain.STANDBY_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get(drain.STANDBY_KEY) is not None
    started = time.monotonic()
    assert drain.events_drain(standby=True) == 0
    assert time.monotonic() - started < 1
    assert pending() == len(LIFECYCLE)  # left to the one standing by...
    holder.leave()
    thread.join(10)
    assert outcome["applied"] == len(LIFECYCLE) and pending() == 0  # ...which applied it
    assert cache.get(drain.STANDBY_KEY) is None


def test_standing_by_keeps_the_flag_set_past_its_lifetime(holder, settings):
    """A flag expiring while the standby waits would queue one more task per lifetime for nothing."""
    settings.WEBHOOK_NUDGE_TTL_SECONDS = 1
    drain_flag._flag_set()
    drain._stand_by(time.monotonic() + 2.5)
    assert cache.get(drain_flag.NUDGE_KEY) is not None


def test_nobody_holding_means_no_wait(postgres, monkeypatch):
    monkeypatch.setattr(drain, "_pause", lambda seconds: pytest.fail("stood by with no drain running"))
    assert drain._stand_by(time.monotonic() + 5)


def test_the_queued_task_stands_by_only_with_a_broker(monkeypatch):
    seen = []
    monkeypatch.setattr("webhooks.tasks.events_drain", lambda **kwargs: seen.append(kwargs) or 0)
    monkeypatch.setitem(process_pending.app.conf, "task_always_eager", False)
    process_pending.run()
    monkeypatch.setitem(process_pending.app.conf, "task_always_eager", True)  # inline, inside a delivery's request
    process_pending.run()
    assert seen == [{"standby": True}, {"standby": False}]


def test_keeping_the_flag_extends_it_and_never_sets_a_cleared_one(settings):
    settings.WEBHOOK_NUDGE_TTL_SECONDS = 1
    drain_flag._flag_set()
    settings.WEBHOOK_NUDGE_TTL_SECONDS = 10
    drain_flag.flag_keep()
    time.sleep(1.3)
    assert cache.get(drain_flag.NUDGE_KEY) is not None  # set for 1 s, kept for 10
    drain_flag.flag_clear()
    drain_flag.flag_keep()
    assert cache.get(drain_flag.NUDGE_KEY) is None
