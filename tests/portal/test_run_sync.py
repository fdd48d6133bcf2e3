"""One `run_sync` for every way a sync runs (issue 27): the outcome recorded once, the same way."""
import logging

import pytest

from ops import selectors
from portal import gateway
from portal.sync import run_sync
from recordings.tasks import catch_up_recordings

pytestmark = pytest.mark.django_db
EMPTY_PAGE = {"data": [], "meta": {"total_pages": 1, "page_number": 1, "total_results": 0}}


def last(name: str) -> dict:
    return {row["name"]: row for row in selectors.last_syncs()}[name]


def test_a_sync_that_ends_is_recorded_ok_with_its_counts():
    run = run_sync("conferences", lambda: {"created": 2, "closed": 1})
    assert run.ok and run.counts == {"created": 2, "closed": 1} and run.error is None
    assert last("conferences")["outcome"] == "ok"


def test_telnyx_refusing_is_recorded_failed_in_its_words_and_logged(caplog):
    def refused():
        raise gateway.GatewayError(status_code=503, title="Service unavailable", detail="try later", retryable=True)

    with caplog.at_level(logging.WARNING, logger="portal.sync"):
        run = run_sync("queues", refused)
    assert not run.ok and run.counts is None and run.error.status_code == 503
    assert last("queues")["outcome"] == "failed" and "Service unavailable" in last("queues")["error"]
    assert "queues sync skipped: 503 Service unavailable: try later" in caplog.text


def test_a_bug_in_a_sync_is_not_swallowed():
    def broken():
        raise KeyError("id")

    with pytest.raises(KeyError):
        run_sync("calls", broken)
    assert last("calls")["outcome"] is None  # nothing recorded as if Telnyx had refused


def test_the_recordings_catch_up_records_each_list_on_its_own(telnyx):
    telnyx.get("/recordings").respond(401, json={"errors": [{"title": "Unauthorized"}]})
    transcripts = telnyx.get("/recording_transcriptions").respond(200, json=EMPTY_PAGE)

    counts = catch_up_recordings()

    assert transcripts.called  # a refused recordings list no longer skips the transcriptions
    assert last("recordings")["outcome"] == "failed" and last("transcriptions")["outcome"] == "ok"
    assert counts == {"transcriptions_created": 0, "gone": 0, "queued": 0}
