"""Time partitions of the events table on PostgreSQL (issue 32): ahead, on demand, dedupe across them."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from webhooks import tasks, time_partitions
from webhooks.models import EventKey, WebhookEvent
from webhooks.retention import events_purge


@pytest.fixture(autouse=True)
def postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite keeps one table); .ci/run's PostgreSQL + Redis pass runs it")


def names():
    return [p.name for p in time_partitions.partitions()]


def test_the_table_is_partitioned_by_month_with_partitions_ahead(settings):
    assert time_partitions.is_partitioned()
    now = timezone.now()
    start, end = time_partitions.span_of(now)
    assert (start.day, start.hour, end.day) == (1, 0, 1) and start <= now < end
    for moment in (now, end, time_partitions.span_of(end)[1]):  # this month and EVENT_PARTITIONS_AHEAD=2 more
        assert time_partitions.partition_name(*time_partitions.span_of(moment)) in names()


def test_beat_creates_partitions_ahead_daily_spans_too(settings):
    settings.EVENT_PARTITION_SPAN = "day"
    settings.EVENT_PARTITIONS_AHEAD = 3
    far = timezone.now() + timedelta(days=400)  # beyond every monthly partition made so far
    created = time_partitions.ensure_ahead(now=far)
    day = far.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expected = [time_partitions.partition_name(day + timedelta(days=n), day + timedelta(days=n + 1)) for n in range(4)]
    assert created == expected and all(name in names() for name in expected)
    assert time_partitions.ensure_ahead(now=far) == []  # idempotent
    assert tasks.create_event_partitions.delay().get() == []  # the current ones exist already


def test_a_missing_partition_is_created_by_the_insert_instead_of_failing(post_webhook, event_doc):
    current = next(p for p in time_partitions.partitions() if p.start <= timezone.now() < p.end)
    with connection.cursor() as cursor:  # as if beat had not run this month (rolled back with the test)
        cursor.execute(f'DROP TABLE "{current.name}"')
    assert current.name not in names()
    response = post_webhook(event_doc("call.answered", id="first-of-the-month"))
    assert response.status_code == 200 and response.json()["stored"] is True
    assert current.name in names()
    assert WebhookEvent.objects.filter(event_id="first-of-the-month").count() == 1


def test_a_redelivery_is_deduplicated_across_partitions(post_webhook, event_doc):
    assert post_webhook(event_doc("call.hangup", id="redelivered")).json()["stored"] is True
    # The first delivery sits in last month's partition (a redelivery just after midnight of the 1st).
    last_month = time_partitions.span_of(timezone.now())[0] - timedelta(hours=1)
    WebhookEvent.objects.filter(event_id="redelivered").update(received_at=last_month)
    assert post_webhook(event_doc("call.hangup", id="redelivered")).json()["stored"] is False
    assert WebhookEvent.objects.filter(event_id="redelivered").count() == 1
    assert EventKey.objects.filter(event_id="redelivered").count() == 1


def test_retention_forgets_ids_past_the_dedupe_window(settings):
    settings.EVENT_DEDUPE_DAYS = 7
    settings.EVENT_RETENTION_DAYS = 0
    EventKey.objects.create(event_id="old", received_at=timezone.now() - timedelta(days=8))
    EventKey.objects.create(event_id="new", received_at=timezone.now() - timedelta(days=6))
    assert events_purge().keys_pruned == 1
    assert list(EventKey.objects.values_list("event_id", flat=True)) == ["new"]


def test_span_of_a_month_and_partition_names():
    moment = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    start, end = time_partitions.span_of(moment, "month")
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert time_partitions.partition_name(start, end) == "webhooks_webhookevent_p2026_12"
    day = time_partitions.span_of(moment, "day")
    assert time_partitions.partition_name(*day) == "webhooks_webhookevent_p2026_12_31"


def _scanned(queryset) -> set[str]:
    """The partitions PostgreSQL's plan reads for `queryset`."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {name for name in names() if f" {name} " in plan or f" {name}\n" in plan or plan.endswith(f" {name}")}


@pytest.fixture
def old_partitions():
    """Partitions a year back (as a year of kept events would have), so pruning has something to skip."""
    moment = timezone.now() - timedelta(days=365)
    while moment < timezone.now():
        time_partitions.ensure_partition(moment)
        moment = time_partitions.span_of(moment)[1]
    assert len(names()) >= 14


def test_lists_read_only_the_partitions_they_need(old_partitions, settings):
    from calls.models import Call
    from calls.selectors import _call_events
    from conferencing.models import Conference
    from webhooks.selectors import EventFilter, event_queryset, received_since

    current = time_partitions.partition_name(*time_partitions.span_of(timezone.now()))
    # Every partition without a bound (the planner cannot know)...
    assert len(_scanned(WebhookEvent.objects.filter(call_control_id="v3:x"))) == len(names())
    # ...a call's timeline: from its start on (this month and the ones ahead, which are empty).
    call = Call.objects.create(call_control_id="v3:x", started_at=timezone.now())
    scanned = _scanned(_call_events(call))
    assert current in scanned and len(scanned) <= 1 + settings.EVENT_PARTITIONS_AHEAD + 1
    # ...a conference's timeline, and the Events page / API filtered by `since`.
    conference = Conference.objects.create(conference_id="conf-x", created_at=timezone.now())
    scanned = _scanned(received_since(WebhookEvent.objects.filter(conference_id="conf-x"), conference.created_at))
    assert current in scanned and len(scanned) < len(names()) - 10
    filtered = EventFilter({"since": timezone.now().date().isoformat()}, queryset=event_queryset()).qs
    scanned = _scanned(filtered)
    assert current in scanned and len(scanned) < len(names()) - 10


def test_the_events_count_is_estimated_from_the_partitions(old_partitions):
    from portal import paging

    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_class SET reltuples = 1500000 WHERE relname = %s", [names()[-1]])
    assert paging.table_estimate(WebhookEvent.objects.all()) == 1_500_000
