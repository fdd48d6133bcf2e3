"""Sync against webhooks applied meanwhile: a list fetched before a join was applied cannot say that participant left."""
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from conferencing import services
from conferencing.models import Participant
from conferencing.tasks import sync_conferences
from tests.conferencing.test_sync_and_pages import conf, member, page
from tests.factories import ConferenceFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


def test_join_applied_while_the_list_was_in_flight_is_not_marked_left(telnyx, post_webhook, event_doc):
    ConferenceFactory(conference_id="conf-1")
    telnyx.get("/conferences", params={"filter[status]": "init"}).respond(200, json=page([]))
    telnyx.get("/conferences", params={"filter[status]": "in_progress"}).respond(200, json=page([conf("conf-1")]))

    def listed_before_the_join(request):
        # Telnyx answers with the roster as it was; the join's webhook is applied before the sync writes.
        joined_at = (timezone.now() + timedelta(seconds=1)).isoformat()
        doc = event_doc("conference.participant.joined", occurred_at=joined_at, conference_id="conf-1",
                        call_control_id="v3:late")
        assert post_webhook(doc).status_code == 200
        return httpx.Response(200, json=page([member("v3:early")]))

    telnyx.get("/conferences/conf-1/participants").mock(side_effect=listed_before_the_join)

    sync_conferences()

    assert Participant.objects.get(call_control_id="v3:late").status == Participant.Status.JOINED
    assert Participant.objects.get(call_control_id="v3:early").status == Participant.Status.JOINED


def test_participant_known_before_the_fetch_and_not_listed_is_closed():
    conference = ConferenceFactory(conference_id="conf-1")
    fetched_at = timezone.now()
    gone = ParticipantFactory(conference=conference, call_control_id="v3:gone",
                              last_event_at=fetched_at - timedelta(minutes=5))
    late = ParticipantFactory(conference=conference, call_control_id="v3:late", last_event_at=fetched_at + timedelta(seconds=2))
    services.conference_sync_page(telnyx_conferences=[conf("conf-1")], participants_by_conference={"conf-1": []},
                                  fetched_at=fetched_at)
    gone.refresh_from_db()
    late.refresh_from_db()
    assert (gone.status, late.status) == (Participant.Status.LEFT, Participant.Status.JOINED)
    assert gone.left_at is not None and late.left_at is None
