"""A drain's batch loads the recordings its events name in one query (recordings/batch.py, issue 25): the same
rows as event by event, without a lookup per event."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recordings.models import Recording, Transcription
from tests.conftest import store_pending
from webhooks.drain import events_process_batch

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CALLS = 12


def stored(event_type: str, event_id: str, second: int, **payload) -> None:
    store_pending(event_type, event_id, T0 + timedelta(seconds=second), **payload)


def started(second: int) -> str:
    return (T0 + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")


def recording_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT") and 'FROM "recordings_recording"' in q["sql"]]


def test_a_batch_of_recording_events_reads_the_recordings_once(settings):
    settings.RECORDING_CAPTURE = False
    for c in range(CALLS):  # half the calls' recordings were named already (a sync, say)
        if c % 2 == 0:
            Recording.objects.create(recording_id=f"rec-named-{c}", call_session_id=f"rs-{c}", started_at=T0)
    for c in range(CALLS):
        call = {"call_session_id": f"rs-{c}", "call_leg_id": f"rl-{c}", "call_control_id": f"v3:rc-{c}"}
        stored("call.recording.saved", f"saved-{c}", 10, recording_started_at=started(1), recording_ended_at=started(9),
               **call)
        stored("call.recording.error", f"error-{c}", 11, reason="insufficient_credit", **call)
    with CaptureQueriesContext(connection) as queries:
        assert events_process_batch(limit=500) == 2 * CALLS
    assert len(recording_reads(queries)) == 1
    named = Recording.objects.filter(recording_id__startswith="rec-named-")
    assert named.count() == CALLS // 2 and all(r.recording_urls for r in named)  # the provisional events matched them
    provisional = set(Recording.objects.filter(provisional_id=True).values_list("recording_id", flat=True))
    assert provisional == {f"saved-{c}" for c in range(1, CALLS, 2)}
    failed = Recording.objects.filter(recording_id__startswith="error-")
    assert failed.count() == CALLS and all(r.status == Recording.Status.FAILED for r in failed)


def test_a_transcript_names_a_provisional_recording_and_later_events_of_the_batch_find_it_renamed(settings):
    settings.RECORDING_CAPTURE = False
    call = {"call_session_id": "rs-t", "call_leg_id": "rl-t", "call_control_id": "v3:rc-t"}
    stored("call.recording.saved", "saved-t", 1, recording_started_at=started(0), **call)
    stored("call.recording.transcription.saved", "transcript-t", 2, recording_id="rec-t", recording_transcription_id="rt-t",
           **call)
    stored("call.recording.transcription.saved", "transcript-t2", 3, recording_id="rec-t",
           recording_transcription_id="rt-t2", **call)
    assert events_process_batch(limit=10) == 3
    recording = Recording.objects.get()
    assert (recording.recording_id, recording.provisional_id) == ("rec-t", False)
    assert set(Transcription.objects.values_list("transcription_id", "recording_id")) == {
        ("rt-t", recording.pk), ("rt-t2", recording.pk)}


def test_a_provisional_row_named_by_a_transcript_is_not_written_back_under_its_stand_in(settings):
    """The batch's object of a provisional row and the one a transcript's lookup renamed are the same row: a
    later event of the batch naming the stand-in must not find the old object and save the old id back."""
    settings.RECORDING_CAPTURE = False
    conference = {"conference_id": "conf-rec", "call_session_id": "crs-1", "call_control_id": "v3:crc-1", "recording_id": ""}
    store_pending("conference.recording.saved", "conf-saved-1", T0, recording_started_at=started(0), **conference)
    stored("call.recording.transcription.saved", "conf-transcript", 0, recording_id="rec-conf",
           recording_transcription_id="rt-conf", call_session_id="crs-1", call_control_id="v3:crc-1")
    store_pending("conference.recording.saved", "conf-saved-again", T0, recording_started_at=started(0), **conference)
    assert events_process_batch(limit=10) == 3
    ids = list(Recording.objects.values_list("recording_id", "provisional_id"))
    assert ("rec-conf", False) in ids
    assert all(provisional is False for _, provisional in ids if _ == "rec-conf")
