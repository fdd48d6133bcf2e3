"""Each metric against a hand-computed fixture, the time-zone edge of "today", p90, the chart series and CSV."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from queues import figures as queue_figures
from queues.models import QueuedCall
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def stay(queue, ago: timedelta, wait: int | None = None, reason: str = "", now=NOW, **extra):
    enqueued = now - ago
    left = enqueued + timedelta(seconds=wait) if wait is not None else None
    return QueuedCallFactory(queue=queue, enqueued_at=enqueued, left_at=left, wait_time_secs=wait, leave_reason=reason, **extra)


@pytest.fixture
def support(db):
    """Hand-computed below: nine stays of "support" spread over the windows, one of "sales"."""
    queue = QueueFactory(name="support", service_level_target_secs=20)
    stay(queue, timedelta(minutes=50), 10, "bridged")      # answered within 20 s
    stay(queue, timedelta(minutes=40), 30, "bridged")      # answered late
    stay(queue, timedelta(minutes=30), 20, "bridged")      # answered exactly on target: within
    stay(queue, timedelta(minutes=20), 45, "hangup")       # abandoned
    stay(queue, timedelta(minutes=10), 120, "timeout")     # timed out
    stay(queue, timedelta(minutes=5))                      # waiting now, 300 s
    stay(queue, timedelta(hours=2), 60, "bridged")         # today, not the last hour
    stay(queue, timedelta(days=3), 5, "hangup")            # last 7 days only
    stay(queue, timedelta(days=8), 1000, "bridged")        # outside every window
    stay(QueueFactory(name="sales"), timedelta(minutes=1), 3, "bridged")
    return queue


def figures(queue, window, now=NOW):
    return queue_figures.queue_metrics(window=window, queues=[queue], now=now)[queue.pk].as_dict()


def test_last_hour(support):
    m = figures(support, "hour")
    assert (m["offered"], m["answered"], m["abandoned"], m["timed_out"], m["finished"]) == (6, 3, 1, 1, 5)
    assert m["average_wait_secs"] == 45.0            # (10 + 30 + 20 + 45 + 120) / 5
    assert m["p90_wait_secs"] == 120                 # nearest rank: 5th of 5
    assert m["max_wait_secs"] == 120
    assert m["answered_within_target"] == 2 and m["service_level"] == 40.0   # 2 / 5 finished
    assert m["abandon_rate"] == 16.7                 # 1 / 6 offered
    assert m["calls_per_hour"] == 6.0
    assert (m["waiting_now"], m["longest_wait_now_secs"]) == (1, 300)
    assert m["service_state"] == "bad"               # 40 % against a goal of 80 %


def test_today(support):
    m = figures(support, "today")
    assert (m["offered"], m["answered"], m["abandoned"], m["timed_out"], m["finished"]) == (7, 4, 1, 1, 6)
    assert m["average_wait_secs"] == 47.5            # (10 + 30 + 20 + 45 + 120 + 60) / 6
    assert m["service_level"] == 33.3                # 2 / 6
    assert m["abandon_rate"] == 14.3                 # 1 / 7
    assert m["calls_per_hour"] == 0.6                # 7 callers in the 12 hours since midnight


def test_last_seven_days(support):
    m = figures(support, "7d")
    assert (m["offered"], m["answered"], m["abandoned"], m["timed_out"], m["finished"]) == (8, 4, 2, 1, 7)
    assert m["average_wait_secs"] == 41.4            # 290 / 7
    assert m["service_level"] == 28.6                # 2 / 7
    assert m["abandon_rate"] == 25.0                 # 2 / 8
    assert m["calls_per_hour"] == 0.0                # 8 / 168


def test_queues_are_computed_apart_in_a_constant_number_of_queries(support):
    with CaptureQueriesContext(connection) as queries:
        both = queue_figures.queue_metrics(window="hour", now=NOW)
    assert len(queries) == 4  # the queues, the aggregate, the percentile, the waiting callers
    sales = next(m for m in both.values() if m.queue == "sales")
    assert (sales.offered, sales.answered, sales.service_level, sales.p90_wait_secs) == (1, 1, 100.0, 3)


@pytest.mark.parametrize(
    ("waits", "p90"),
    [
        (list(range(1, 21)), 18),            # 20 waits: the 18th
        ([5] * 9 + [100], 5),                # ties: 90 % of waits are 5 s
        ([7], 7),
        ([10, 20], 20),
        (list(range(10, 0, -1)), 9),         # stored out of order
    ],
)
def test_p90_is_nearest_rank(waits, p90):
    queue = QueueFactory(name="p90")
    for i, wait in enumerate(waits):
        stay(queue, timedelta(minutes=30, seconds=i), wait, "bridged")
    assert figures(queue, "hour")["p90_wait_secs"] == p90


def test_empty_queue_has_no_rates():
    m = figures(QueueFactory(name="quiet"), "today")
    assert (m["offered"], m["abandon_rate"], m["service_level"], m["average_wait_secs"], m["p90_wait_secs"]) == (0, None, None, None, None)
    assert m["service_state"] == "none" and m["longest_wait_now_secs"] is None


def test_service_level_uses_each_queues_own_target():
    strict, relaxed = QueueFactory(name="strict", service_level_target_secs=5), QueueFactory(name="relaxed", service_level_target_secs=60)
    for queue in (strict, relaxed):
        stay(queue, timedelta(minutes=10), 30, "bridged")
    result = queue_figures.queue_metrics(window="hour", queues=[strict, relaxed], now=NOW)
    assert (result[strict.pk].service_level, result[relaxed.pk].service_level) == (0.0, 100.0)


def test_today_starts_at_local_midnight(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    queue = QueueFactory(name="berlin")
    now = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)       # 01:30 in Berlin
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 22, 22, 59, tzinfo=UTC))  # 23:59 yesterday
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 22, 23, 0, tzinfo=UTC))   # 00:00 today
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 23, 0, 10, tzinfo=UTC))
    m = queue_figures.queue_metrics(window="today", queues=[queue], now=now)[queue.pk]
    assert m.start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert m.offered == 2


def test_today_starts_at_local_midnight_on_a_daylight_saving_day(settings):
    """New York moves to EDT at 02:00 on 8 March 2026: midnight was still EST (05:00 UTC), not 04:00 UTC."""
    settings.TIME_ZONE = "America/New_York"
    queue = QueueFactory(name="ny")
    now = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)          # 11:00 EDT
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 3, 8, 4, 30, tzinfo=UTC))  # 23:30 on the 7th
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 3, 8, 5, 0, tzinfo=UTC))   # midnight
    m = queue_figures.queue_metrics(window="today", queues=[queue], now=now)[queue.pk]
    assert m.start == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert m.offered == 1
    assert m.calls_per_hour == 0.1                   # 1 caller in the 10 real hours since midnight


def test_unknown_window_is_refused():
    with pytest.raises(queue_figures.UnknownWindow):
        queue_figures.window_bounds("month")


def test_day_series_counts_waiting_callers_and_hourly_service_level(settings):
    settings.TIME_ZONE = "UTC"
    queue = QueueFactory(name="series", service_level_target_secs=20)
    now = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 22, 23, 50, tzinfo=UTC))  # waiting since yesterday
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 23, 0, 20, tzinfo=UTC), wait_time_secs=10,
                      left_at=datetime(2026, 11, 23, 0, 20, 10, tzinfo=UTC), leave_reason="bridged")
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 23, 0, 25, tzinfo=UTC), wait_time_secs=600,
                      left_at=datetime(2026, 11, 23, 0, 35, tzinfo=UTC), leave_reason="bridged")
    QueuedCallFactory(queue=queue, enqueued_at=datetime(2026, 11, 23, 1, 5, tzinfo=UTC), wait_time_secs=5,
                      left_at=datetime(2026, 11, 23, 1, 5, 5, tzinfo=UTC), leave_reason="hangup")
    series = queue_figures.day_series(queue, now=now, step_minutes=30)
    waiting = {p.strftime("%H:%M"): n for p, n in series["waiting"]}
    assert waiting == {"00:00": 1, "00:30": 2, "01:00": 1, "01:30": 1, "02:00": 1, "02:10": 1}
    assert [(h.strftime("%H"), level, finished) for h, level, finished in series["service_level"]] == [
        ("00", 50.0, 2), ("01", 0.0, 1), ("02", None, 0)
    ]
    from queues.charts import day_chart

    chart = day_chart(series, goal_percent=80)
    assert [b["state"] for b in chart["bars"]] == ["bad", "bad"] and chart["peak"] == 2
    assert len(chart["line"].split()) == 6


def test_csv_has_one_row_per_queue_with_every_column(support):
    text = queue_figures.metrics_csv(sorted(queue_figures.queue_metrics(window="hour", now=NOW).values(), key=lambda m: m.queue))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["queue"] for r in rows] == ["sales", "support"]
    assert list(rows[0]) == queue_figures.CSV_FIELDS
    support_row = rows[1]
    assert (support_row["offered"], support_row["service_level"], support_row["p90_wait_secs"], support_row["abandon_rate"]) == (
        "6", "40.0", "120", "16.7"
    )


def test_closed_stays_always_carry_a_wait_time():
    """Metrics read wait_time_secs; every way a stay closes sets it."""
    from queues import services

    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, call_control_id="v3:x", enqueued_at=NOW - timedelta(seconds=42))
    services.queued_call_removed(queue_name="support", call_control_id="v3:x", at=NOW)
    assert QueuedCall.objects.get().wait_time_secs == 42


def test_every_caller_who_entered_is_in_exactly_one_outcome(db):
    """Issue 31: a caller taken out of the queue counts in the "today" line, as taken out, not nowhere."""
    queue = QueueFactory(name="outcomes")
    stay(queue, timedelta(minutes=50), 10, "bridged")
    stay(queue, timedelta(minutes=45), 15, "hangup")
    stay(queue, timedelta(minutes=40), 60, "timeout")
    stay(queue, timedelta(minutes=35), 12, "leave")
    stay(queue, timedelta(minutes=30), 12, "removed")
    stay(queue, timedelta(minutes=25), 5, "queue_deleted")
    stay(queue, timedelta(minutes=5))  # still waiting
    m = queue_figures.queue_metrics(window="hour", queues=[queue], now=NOW)[queue.pk]
    assert (m.offered, m.answered, m.abandoned, m.timed_out, m.taken_out, m.still_waiting, m.other_outcome) == (7, 1, 1, 1, 2, 1, 1)
    assert m.answered + m.abandoned + m.timed_out + m.taken_out + m.still_waiting + m.other_outcome == m.offered
