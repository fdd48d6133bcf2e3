"""save_fields: a drain's saves as statements prepared once per connection, with Django's save's outcome (issue 25)."""
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction

from calls.models import Call
from recordings.models import Recording
from webhooks.prepared import save_fields

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_the_named_fields_reach_the_row_and_no_other():
    call = Call.objects.create(call_control_id="v3:prep-1", state=Call.State.INITIATED, from_number="+15550001")
    call.state, call.last_event_at = Call.State.ANSWERED, T0
    call.activity, call.activity_at = {"playback": {"status": "playing", "n": 2}}, {"playback": T0.isoformat()}
    call.from_number = "+15550999"  # changed in memory, not named: stays as stored

    save_fields(call, ["state", "last_event_at", "activity", "activity_at", "state"])

    row = Call.objects.get(pk=call.pk)
    assert (row.state, row.last_event_at, row.from_number) == (Call.State.ANSWERED, T0, "+15550001")
    assert row.activity == {"playback": {"status": "playing", "n": 2}}
    assert row.activity_at == {"playback": T0.isoformat()}


def test_nulls_and_empty_values_are_written():
    call = Call.objects.create(call_control_id="v3:prep-2", last_event_at=T0, client_state="abc")
    call.last_event_at, call.client_state = None, ""

    save_fields(call, ["last_event_at", "client_state"])

    assert Call.objects.filter(pk=call.pk, last_event_at=None, client_state="").exists()


def test_a_row_deleted_meanwhile_fails_as_djangos_save_does():
    call = Call.objects.create(call_control_id="v3:prep-3")
    Call.objects.filter(pk=call.pk).delete()
    call.state = Call.State.HANGUP

    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic():
        save_fields(call, ["state"])


def test_a_model_with_its_own_save_keeps_it():
    """Recording.save derives columns: save_fields must go through it, not around it."""
    recording = Recording.objects.create(recording_id="r-prep", started_at=T0)
    recording.conference_id = "conf-prep"  # save() derives source from it

    save_fields(recording, ["conference_id"])

    assert Recording.objects.get(pk=recording.pk).source == Recording.Source.CONFERENCE


def test_on_postgresql_the_statement_is_prepared_once_per_connection():
    """Prepared after DATABASE_PREPARE_THRESHOLD runs, then reused: one statement, not one per save."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite saves through Django's save")
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold  # DATABASE_PREPARE_THRESHOLD (portal/settings.py)
    assert threshold is not None, "prepared statements are off"
    calls = [Call.objects.create(call_control_id=f"v3:prep-many-{i}") for i in range(threshold + 1)]
    for call in calls:
        call.state = Call.State.BRIDGED
        save_fields(call, ["state"])

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'UPDATE \"calls_call\" SET%%'")
        prepared = [row[0] for row in cursor.fetchall()]
    assert prepared == ['UPDATE "calls_call" SET "state" = $1 WHERE "id" = $2']
    assert Call.objects.filter(state=Call.State.BRIDGED).count() == threshold + 1
