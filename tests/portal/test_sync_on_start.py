"""When beat starts, what the portal holds live is reconciled with Telnyx at once (issue 29)."""
from datetime import timedelta

import httpx
import pytest
from celery import signals
from django.utils import timezone

from calls.models import Call
from conferencing.models import Conference
from ops import selectors as ops_selectors
from portal.sync import start_syncs
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory

pytestmark = pytest.mark.django_db
EMPTY = {"data": [], "meta": {"total_pages": 1, "page_number": 1, "total_results": 0}}


def test_every_live_domain_declares_a_start_sync():
    assert set(start_syncs()) == {"calls", "conferences", "queues"}


def test_beat_start_closes_what_telnyx_no_longer_has_retrying_until_telnyx_answers(telnyx):
    ConferenceFactory(conference_id="conf-old")
    CallFactory(call_control_id="v3:old", last_event_at=timezone.now() - timedelta(seconds=5))  # recent: still asked
    conferences = telnyx.get("/conferences").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ConnectError("refused"), httpx.Response(200, json=EMPTY),
                     httpx.Response(200, json=EMPTY)])
    telnyx.get("/conferences/conf-old").respond(404)
    queues = telnyx.get("/queues").respond(200, json=EMPTY)
    status = telnyx.get("/calls/v3:old").respond(404)

    signals.beat_init.send(sender=None)  # what `celery beat` (or a worker's embedded beat) sends once started

    assert Conference.objects.get(conference_id="conf-old").status == Conference.Status.COMPLETED
    assert Call.objects.get(call_control_id="v3:old").state == Call.State.HANGUP
    # Unreachable first (the sandbox still starting): tried again, and only the sync that could not connect.
    assert conferences.call_count == 4  # two refused, then the active-status filters: init and in_progress
    assert queues.call_count == status.call_count == 1  # the syncs that connected are not run again
    outcomes = {row["name"]: row["outcome"] for row in ops_selectors.last_syncs()}
    assert outcomes["calls"] == outcomes["conferences"] == outcomes["queues"] == "ok"
