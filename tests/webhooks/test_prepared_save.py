"""save_fields, insert_row, save_row: a drain's writes as statements prepared once per connection, with Django's
save's outcome (issue 25)."""
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from calls.models import Call
from conferencing.models import Conference, Participant
from queues.models import Queue, QueuedCall
from recordings.models import Recording
from webhooks.prepared import insert_row, insert_unless_present, save_fields, save_row, select_rows

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


def test_a_new_row_is_inserted_with_every_column_and_its_key_read_back():
    conference = Conference.objects.create(conference_id="conf-insert")
    participant = Participant(conference=conference, call_control_id="v3:in-1", label="+15550002", muted=True,
                              whisper_call_control_ids=["v3:agent"], joined_at=T0)

    insert_row(participant)

    assert participant.pk is not None and participant._state.adding is False
    row = Participant.objects.get(pk=participant.pk)
    assert (row.conference_id, row.call_control_id, row.label, row.muted, row.whisper_call_control_ids, row.joined_at) == (
        conference.pk, "v3:in-1", "+15550002", True, ["v3:agent"], T0,
    )
    assert row.status == Participant._meta.get_field("status").default  # the model's defaults, as Django writes them


def test_inserting_a_row_twice_fails_on_its_unique_key():
    conference = Conference.objects.create(conference_id="conf-twice")
    insert_row(Participant(conference=conference, call_control_id="v3:twice"))

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(Participant(conference=conference, call_control_id="v3:twice"))


def test_save_row_inserts_a_new_stay_and_rewrites_a_loaded_one():
    queue = Queue.objects.create(name="prep-queue")
    stay = QueuedCall(queue=queue, call_control_id="v3:stay", enqueued_at=T0, position=3)
    save_row(stay)
    loaded = QueuedCall.objects.get(pk=stay.pk)
    loaded.position, loaded.left_at, loaded.leave_reason = 1, T0, "hangup"

    save_row(loaded)

    assert QueuedCall.objects.filter(queue=queue).count() == 1
    row = QueuedCall.objects.get(pk=stay.pk)
    assert (row.call_control_id, row.position, row.left_at, row.leave_reason) == ("v3:stay", 1, T0, "hangup")


def _as_django_loads(model, **lookup):
    """Every field of each row as Django's own queryset loads it (the reference select_rows must match)."""
    return [{f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
            for row in model.objects.filter(**lookup).order_by("pk")]


def test_select_rows_loads_the_rows_as_djangos_queryset_does():
    Call.objects.create(call_control_id="v3:sel-2", state=Call.State.ANSWERED, last_event_at=T0,
                        activity={"playback": {"status": "playing"}}, activity_at={"playback": T0.isoformat()})
    Call.objects.create(call_control_id="v3:sel-1", client_state="abc")
    Call.objects.create(call_control_id="v3:sel-other")

    rows = select_rows(Call, "call_control_id", ["v3:sel-1", "v3:sel-2", "v3:sel-missing"])

    assert [{f.attname: getattr(r, f.attname) for f in Call._meta.concrete_fields} for r in rows] == _as_django_loads(
        Call, call_control_id__in=["v3:sel-1", "v3:sel-2"])
    assert [r.call_control_id for r in rows] == ["v3:sel-2", "v3:sel-1"]  # in id order
    assert rows[0].activity == {"playback": {"status": "playing"}} and rows[0].last_event_at == T0  # decoded, aware
    assert all(not r._state.adding and r._state.db == "default" for r in rows)
    rows[0].state = Call.State.HANGUP
    rows[0].save(update_fields=["state"])  # a loaded object saves as Django's would
    assert Call.objects.get(call_control_id="v3:sel-2").state == Call.State.HANGUP


def _row_locks_taken() -> int:
    """Transaction ids this session holds: a row lock (FOR UPDATE) in a savepoint takes one of its own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


def test_select_rows_locks_the_rows_when_asked():
    Call.objects.create(call_control_id="v3:sel-lock")
    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database, not rows")
    with transaction.atomic():
        before = _row_locks_taken()
        (row,) = select_rows(Call, "call_control_id", ["v3:sel-lock"])
        assert _row_locks_taken() == before  # read only
        (row,) = select_rows(Call, "call_control_id", ["v3:sel-lock"], lock=True)
        assert _row_locks_taken() == before + 1  # FOR UPDATE wrote the lock into the row
    assert row.call_control_id == "v3:sel-lock"


def test_select_rows_no_key_lock_lets_others_insert_rows_that_refer_to_it():
    """FOR NO KEY UPDATE (a shared row, webhooks/shared_rows.py): another transaction may still insert a row
    whose foreign key names it, which FOR UPDATE would make wait."""
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database, not rows")
    conference = Conference.objects.create(conference_id="conf-no-key")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        (row,) = select_rows(Conference, "id", [conference.pk], lock=True, no_key=True)
        (again,) = select_rows(Conference, "id", [conference.pk], lock=True)
    assert queries.captured_queries[0]["sql"].endswith("FOR NO KEY UPDATE")
    assert queries.captured_queries[1]["sql"].endswith("ORDER BY \"id\" FOR UPDATE")
    assert row.pk == again.pk == conference.pk


def test_insert_unless_present_inserts_once_and_then_says_the_row_was_there():
    first = Conference(conference_id="conf-shared", name="Sales")
    assert insert_unless_present(first, "conference_id") is True
    assert first.pk is not None and not first._state.adding

    second = Conference(conference_id="conf-shared", name="Other")
    assert insert_unless_present(second, "conference_id") is False
    assert second.pk is None

    row = Conference.objects.get(conference_id="conf-shared")
    assert (row.pk, row.name) == (first.pk, "Sales")
    assert Conference.objects.filter(conference_id="conf-shared").count() == 1


@pytest.mark.django_db(transaction=True)
def test_select_rows_refuses_a_lock_outside_a_transaction_as_django_does():
    from django.db.transaction import TransactionManagementError

    if connection.vendor != "postgresql":
        pytest.skip("SQLite ignores select_for_update")
    with pytest.raises(TransactionManagementError):
        select_rows(Call, "call_control_id", ["v3:anything"], lock=True)
    assert select_rows(Call, "call_control_id", ["v3:anything"], no_key=True) == []  # no lock asked: none taken


def test_insert_unless_present_through_djangos_save_says_a_clash_and_raises_any_other_error():
    """The path for a row whose key is given (and outside PostgreSQL): Django's insert in a savepoint."""
    first = Conference(conference_id="conf-fallback")
    assert insert_unless_present(first, "conference_id") is True
    clash = Conference(pk=first.pk + 1000, conference_id="conf-fallback")
    assert insert_unless_present(clash, "conference_id") is False
    assert clash.pk == first.pk + 1000 and clash._state.adding  # left as it was given: not saved
    taken_key = Conference(pk=first.pk, conference_id="conf-other")  # another constraint: the primary key
    with pytest.raises(IntegrityError):
        insert_unless_present(taken_key, "conference_id")
    assert Conference.objects.filter(conference_id="conf-fallback").count() == 1


def test_select_rows_finds_keys_with_every_kind_of_character():
    names = ["Sales, EMEA", 'say "hi"', "O'Neil", "{braces}", "back\\slash", "NULL", "  spaced  ", "ünïcode"]
    for name in names:
        Queue.objects.create(name=name)
    found = select_rows(Queue, "name", [*names, "absent"])
    assert sorted(q.name for q in found) == sorted(names)
