"""Index types that differ by database: each is created in the form that database's planner can use."""
import pytest
from django.db import connection

from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _definition(name: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("name", ["event_conference", "event_queue", "event_recording", "event_unprocessed"])
def test_sparse_event_indexes_skip_empty_keys_on_postgresql_only(name):
    assert ("WHERE" in _definition(name).upper()) == (connection.vendor == "postgresql")


def test_a_conference_timeline_reads_the_sparse_index():
    query = WebhookEvent.objects.filter(conference_id="conf-1").order_by("occurred_at").values("id")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: the plan a large one gets
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            # The events table is partitioned (issue 32): each partition reads its own copy of the index.
            cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                           "WHERE i.inhparent = 'event_conference'::regclass")
            copies = [row[0] for row in cursor.fetchall()]
            assert copies and all(copy in plan for copy in copies)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "event_conference" in plan
