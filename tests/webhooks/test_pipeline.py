"""A drain's writes in PostgreSQL's pipeline mode (webhooks/pipeline.py, issue 25): sent without waiting, yet
every read sees them, every failure still fails the batch, and Django's own statements behave as outside."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from calls.models import Call
from conferencing.models import Participant
from tests.conftest import store_pending
from webhooks import pipeline, registry, shared_rows
from webhooks.drain import events_process_batch
from webhooks.models import WebhookEvent
from webhooks.pipeline import deferring, execute_deferred, pipelined, row_changed
from webhooks.prepared import insert_row, save_fields

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no pipeline mode, its writes run at once")


def stored(event_type: str, event_id: str, second: int, **payload) -> None:
    store_pending(event_type, event_id, T0 + timedelta(seconds=second), **payload)


def unanswered() -> int:
    return len(pipeline._active.get().unchecked)


def test_a_deferred_save_is_sent_unanswered_and_a_later_read_sees_it():
    call = Call.objects.create(call_control_id="v3:pipe-1", state=Call.State.INITIATED)
    with transaction.atomic(), pipelined():
        assert connection.connection._pipeline is not None
        call.state = Call.State.ANSWERED
        save_fields(call, ["state"])
        assert unanswered() == 1  # its answer not read yet
        assert Call.objects.get(pk=call.pk).state == Call.State.ANSWERED  # the read syncs, in order
        assert unanswered() == 0
    assert connection.connection._pipeline is None
    assert Call.objects.get(pk=call.pk).state == Call.State.ANSWERED


def test_djangos_own_statements_read_their_counts_as_outside_a_pipeline():
    """Django's save reads the UPDATE's row count to choose between UPDATE and INSERT: a pipelined -1 would
    make it insert a duplicate. Every statement not deferred is answered before Django reads it."""
    call = Call.objects.create(call_control_id="v3:pipe-2")
    with transaction.atomic(), pipelined():
        assert Call.objects.filter(pk=call.pk).update(state=Call.State.BRIDGED) == 1
        call.state = Call.State.HANGUP
        call.save()
        assert Call.objects.filter(call_control_id="v3:pipe-2").count() == 1
    assert Call.objects.get(pk=call.pk).state == Call.State.HANGUP


def test_a_deferred_save_of_a_deleted_row_fails_before_the_commit():
    call = Call.objects.create(call_control_id="v3:pipe-3")
    Call.objects.filter(pk=call.pk).delete()
    call.state = Call.State.HANGUP
    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic(), pipelined():
        save_fields(call, ["state"])  # checked at the block's end, as nothing read meanwhile


def test_a_deferred_statements_error_surfaces_at_the_next_sync_and_rolls_back():
    Call.objects.create(call_control_id="v3:pipe-dup")
    with pytest.raises(DatabaseError), transaction.atomic(), pipelined():
        Call.objects.create(call_control_id="v3:pipe-before")
        with deferring():
            Call.objects.bulk_create([Call(call_control_id="v3:pipe-dup")])  # a unique key violated, unanswered
        Call.objects.count()  # the next sync raises the duplicate's error
    assert not Call.objects.filter(call_control_id="v3:pipe-before").exists()


def test_an_error_swallowed_by_whoever_synced_still_fails_the_block():
    Call.objects.create(call_control_id="v3:pipe-dup-2")
    with pytest.raises(DatabaseError), transaction.atomic(), pipelined():
        Call.objects.create(call_control_id="v3:pipe-before-2")
        with deferring():
            Call.objects.bulk_create([Call(call_control_id="v3:pipe-dup-2")])
        try:
            Call.objects.exists()
        except DatabaseError:
            pass  # a careless caller: the transaction is failed all the same
    assert not Call.objects.filter(call_control_id="v3:pipe-before-2").exists()


def test_a_new_row_takes_its_key_from_the_sequence_and_is_inserted_unanswered():
    with transaction.atomic(), pipelined():
        call = Call(call_control_id="v3:pipe-new", state=Call.State.INITIATED)
        insert_row(call)
        assert call.pk is not None and unanswered() == 1
    row = Call.objects.get(call_control_id="v3:pipe-new")
    assert row.pk == call.pk and row.state == Call.State.INITIATED
    later = Call.objects.create(call_control_id="v3:pipe-after")
    assert later.pk != call.pk  # the sequence never hands the pooled key out again


def test_outside_a_pipeline_a_deferred_statement_runs_and_is_checked_at_once():
    call = Call.objects.create(call_control_id="v3:pipe-4")
    Call.objects.filter(pk=call.pk).delete()
    with pytest.raises(DatabaseError, match="gone"), transaction.atomic():
        execute_deferred(connection, 'UPDATE "calls_call" SET state = %s WHERE id = %s', ("hangup", call.pk), row_changed("gone"))


def test_the_setting_turns_pipelining_off(settings):
    settings.WEBHOOK_PIPELINED_WRITES = False
    with transaction.atomic(), pipelined():
        assert connection.connection._pipeline is None and pipeline._active.get() is None


def test_a_drained_batch_applies_the_same_with_its_writes_pipelined(settings):
    """The same events, pipelined and not: the same rows."""
    outcomes = {}
    for pipelined_writes in (True, False):
        settings.WEBHOOK_PIPELINED_WRITES = pipelined_writes
        tag = "on" if pipelined_writes else "off"
        for second, event_type in enumerate(["call.initiated", "call.answered", "call.dtmf.received", "call.hangup"]):
            stored(event_type, f"{tag}-{event_type}", second, call_control_id=f"v3:pipe-{tag}", call_session_id=f"s-{tag}")
        stored("conference.participant.joined", f"{tag}-joined", 5, call_control_id=f"v3:pipe-{tag}-p",
               conference_id=f"conf-{tag}", call_session_id=f"s-{tag}-p")
        assert events_process_batch(limit=20) == 5
        leg = Call.objects.get(call_control_id=f"v3:pipe-{tag}")
        participant = Participant.objects.get(call_control_id=f"v3:pipe-{tag}-p")
        outcomes[tag] = (leg.state, leg.dtmf_digits.count(), participant.status)
    assert outcomes["on"] == outcomes["off"] == (Call.State.HANGUP, 1, Participant.Status.JOINED)
    assert not WebhookEvent.objects.exclude(status=WebhookEvent.Status.PROCESSED).exists()


def test_a_batch_whose_pipelined_write_fails_is_applied_again_event_by_event(monkeypatch):
    """The failure surfaces late, in some other event's statement: the batch is redone without a pipeline,
    where the failing event is recorded and the others apply."""
    original = registry.handlers_for

    def handlers_for(event_type):
        def run(event):
            for handler in original(event_type):
                handler(event)
            if event.event_id == "bad" and pipeline._active.get() is not None:
                with deferring():  # fails on the server, unanswered: nothing raises here
                    Call.objects.bulk_create([Call(call_control_id="v3:pipe-taken")])
            elif event.event_id == "bad":
                raise RuntimeError("the event's own failure, recorded against it")

        return [run]

    Call.objects.create(call_control_id="v3:pipe-taken")
    monkeypatch.setattr(registry, "handlers_for", handlers_for)
    stored("call.answered", "bad", 0, call_control_id="v3:pipe-5", call_session_id="s-5")
    stored("call.answered", "good", 1, call_control_id="v3:pipe-6", call_session_id="s-6")
    assert events_process_batch(limit=10) == 2
    statuses = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert statuses == {"bad": WebhookEvent.Status.FAILED, "good": WebhookEvent.Status.PROCESSED}
    assert Call.objects.get(call_control_id="v3:pipe-6").state == Call.State.ANSWERED


def test_a_pipelined_failure_that_surfaces_after_the_handlers_still_redoes_the_batch_event_by_event(monkeypatch):
    """A deferred write's error can come out after the handlers (at the shared rows' flush, the batch's record,
    its last sync), outside the handlers' own error handling: the drain must still redo the batch event by
    event, not fail on every claim of it. Here the flush raises what a deferred INSERT's conflict raises."""
    original_flush = shared_rows.flush

    def flush():
        if pipeline._active.get() is not None:
            raise IntegrityError("duplicate key value violates unique constraint (a deferred INSERT)")
        original_flush()

    monkeypatch.setattr(shared_rows, "flush", flush)
    stored("call.answered", "first-good", 0, call_control_id="v3:pipe-7", call_session_id="s-7")
    stored("call.answered", "second-good", 1, call_control_id="v3:pipe-8", call_session_id="s-8")
    assert events_process_batch(limit=10) == 2
    statuses = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert statuses == {"first-good": WebhookEvent.Status.PROCESSED, "second-good": WebhookEvent.Status.PROCESSED}
    assert Call.objects.filter(call_control_id__in=["v3:pipe-7", "v3:pipe-8"], state=Call.State.ANSWERED).count() == 2
