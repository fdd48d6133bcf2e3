"""Sync with Telnyx's lists, the conference pages and the read API."""
import pytest

from conferencing.models import Conference, Participant
from conferencing.tasks import sync_conferences
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


def page(items, number=1, total=1):
    return {"data": items, "meta": {"page_number": number, "total_pages": total, "page_size": 20, "total_results": len(items)}}


def conf(id, status="in_progress", name="Room", **extra):
    return {"id": id, "name": name, "record_type": "conference", "status": status, "region": "US",
            "created_at": "2026-11-23T09:00:00Z", "expires_at": "2026-11-23T13:00:00Z", **extra}


def member(ccid, **extra):
    return {"id": ccid, "call_control_id": ccid, "call_leg_id": f"leg-{ccid}", "conference": {"id": "x"},
            "created_at": "2026-11-23T09:01:00Z", "updated_at": "2026-11-23T09:01:00Z", "end_conference_on_exit": False,
            "soft_end_conference_on_exit": False, "muted": False, "on_hold": False, "record_type": "participant",
            "status": "joined", "whisper_call_control_ids": [], **extra}


def test_sync_creates_corrects_and_closes(telnyx):
    stale = ConferenceFactory(conference_id="conf-gone")
    ParticipantFactory(conference=stale, call_control_id="v3:ghost")
    known = ConferenceFactory(conference_id="conf-live")
    ParticipantFactory(conference=known, call_control_id="v3:left-silently")
    ParticipantFactory(conference=known, call_control_id="v3:muted", muted=False)

    telnyx.get("/conferences", params={"filter[status]": "init"}).respond(200, json=page([]))
    telnyx.get("/conferences", params={"filter[status]": "in_progress"}).respond(
        200, json=page([conf("conf-live"), conf("conf-new", name="New room")])
    )
    telnyx.get("/conferences/conf-live/participants").respond(200, json=page([member("v3:muted", muted=True)]))
    telnyx.get("/conferences/conf-new/participants").respond(200, json=page([member("v3:n1")]))
    telnyx.get("/conferences/conf-gone").respond(
        200, json={"data": {**conf("conf-gone", status="completed"), "end_reason": "all_left"}}
    )

    assert sync_conferences() == {"created": 1, "updated": 1, "closed": 1}
    assert Conference.objects.get(conference_id="conf-new").name == "New room"
    assert Participant.objects.get(call_control_id="v3:n1").status == Participant.Status.JOINED
    assert Participant.objects.get(call_control_id="v3:muted").muted is True
    assert Participant.objects.get(call_control_id="v3:left-silently").status == Participant.Status.LEFT
    gone = Conference.objects.get(conference_id="conf-gone")
    assert gone.status == Conference.Status.COMPLETED and gone.end_reason == "all_left"
    assert Participant.objects.get(call_control_id="v3:ghost").status == Participant.Status.LEFT


def test_sync_closes_conferences_telnyx_no_longer_knows(telnyx):
    ConferenceFactory(conference_id="conf-404")
    telnyx.get("/conferences").respond(200, json=page([]))
    telnyx.get("/conferences/conf-404").respond(404, json={"errors": [{"title": "Not found"}]})
    assert sync_conferences()["closed"] == 1
    assert Conference.objects.get().status == Conference.Status.COMPLETED


def test_sync_survives_telnyx_outage(telnyx):
    ConferenceFactory(conference_id="conf-1")
    telnyx.get("/conferences").respond(503, json={})
    assert sync_conferences() is None
    assert Conference.objects.get().status == Conference.Status.IN_PROGRESS


def test_list_page_shows_active_first_with_search_and_filters(client, viewer):
    ConferenceFactory(name="Old", status=Conference.Status.COMPLETED)
    live = ConferenceFactory(name="Live room")
    ParticipantFactory(conference=live)
    client.force_login(viewer)
    html = client.get("/conferences/").content.decode()
    assert html.index("Live room") < html.index("Old")
    assert "New conference" not in html  # viewers cannot create
    assert "Old" not in client.get("/conferences/", {"q": "live"}).content.decode()
    assert "Live room" not in client.get("/conferences/", {"status": "completed"}).content.decode()


def test_empty_list_explains_itself(client, viewer):
    client.force_login(viewer)
    assert "No conferences yet" in client.get("/conferences/").content.decode()


def test_detail_offers_controls_by_permission(client, viewer, operator, supervisor):
    room = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=room, call_control_id="v3:a")
    client.force_login(viewer)
    html = client.get("/conferences/conf-1/").content.decode()
    assert "v3:a" in html and "Mute" not in html and "End conference" not in html
    client.force_login(operator)
    html = client.get("/conferences/conf-1/").content.decode()
    assert "Mute" in html and "End conference" in html and "Set role" not in html and "Change supervisor role" not in html
    client.force_login(supervisor)
    html = client.get("/conferences/conf-1/").content.decode()
    assert "Set role" in html and "Change supervisor role" in html


def test_live_roster_fragment_matches_the_page(client, viewer):
    room = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=room, call_control_id="v3:a", muted=True)
    client.force_login(viewer)
    fragment = client.get("/conferences/conf-1/live/").content.decode()
    assert fragment.strip().startswith('<section id="conference-live"') and "muted" in fragment


def test_unknown_conference_is_404(client, viewer):
    client.force_login(viewer)
    assert client.get("/conferences/nope/").status_code == 404


def test_api_lists_and_details(client, viewer):
    room = ConferenceFactory(conference_id="conf-1", name="Room")
    ParticipantFactory(conference=room, call_control_id="v3:a")
    ConferenceFactory(conference_id="conf-2", status=Conference.Status.COMPLETED)
    client.force_login(viewer)
    listing = client.get("/api/v1/conferences/", {"status": "in_progress"}).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == "conf-1"
    assert listing["results"][0]["participants_now"] == 1
    detail = client.get("/api/v1/conferences/conf-1/").json()
    assert detail["participants"][0]["call_control_id"] == "v3:a"
    participants = client.get("/api/v1/conferences/conf-1/participants/").json()
    assert participants["count"] == 1
    assert client.get("/api/v1/conferences/", {"status": "bogus"}).status_code == 400


def test_api_requires_authentication_and_view_permission(client, db):
    from tests.factories import UserFactory

    assert client.get("/api/v1/conferences/").status_code in (401, 403)
    client.force_login(UserFactory(username="norole"))
    assert client.get("/api/v1/conferences/").status_code == 403


def test_create_page_validates_and_issues(client, operator, telnyx, django_capture_on_commit_callbacks):
    from portal.models import Command

    client.force_login(operator)
    response = client.post("/conferences/new/", {"name": "X"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert Command.objects.count() == 0
    telnyx.post("/conferences").respond(200, json={"data": conf("conf-9")})
    CallFactory(call_control_id="v3:leg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/conferences/new/", {"name": "X", "call_control_id": "v3:leg"})
    assert response.status_code == 302
    assert Conference.objects.filter(conference_id="conf-9").exists()


def _serve_conferences(telnyx, count):
    rooms = [conf(f"conf-{i}", name=f"Room {i}") for i in range(count)]
    telnyx.get("/conferences", params={"filter[status]": "init"}).respond(200, json=page([]))
    telnyx.get("/conferences", params={"filter[status]": "in_progress"}).respond(200, json=page(rooms))
    for i in range(count):
        telnyx.get(f"/conferences/conf-{i}/participants").respond(
            200, json=page([member(f"v3:{i}-a"), member(f"v3:{i}-b", muted=True)])
        )


@pytest.mark.parametrize("existing", [False, True])
def test_sync_queries_do_not_grow_with_the_page(telnyx, existing):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conferencing.sync import fetch_and_sync

    counts = {}
    # Sizes small enough that SQLite's bound-variable limit does not split a bulk insert into batches.
    for size in (3, 12):
        Conference.objects.all().delete()
        _serve_conferences(telnyx, size)
        if existing:
            fetch_and_sync()
        with CaptureQueriesContext(connection) as queries:
            fetch_and_sync()
        counts[size] = len(queries)
    assert Participant.objects.filter(muted=True).count() == 12
    assert counts[3] == counts[12], counts


def test_periodic_sync_runs_while_a_conference_is_active(telnyx, settings):
    from django.core.cache import cache

    from conferencing.sync import LAST_SYNC_KEY
    from conferencing.tasks import sync_conferences_periodic

    route = telnyx.get("/conferences").respond(200, json=page([]))
    cache.set(LAST_SYNC_KEY, __import__("time").time())
    assert sync_conferences_periodic() is None and route.call_count == 0  # idle, recently synced
    ConferenceFactory(conference_id="conf-1")
    telnyx.get("/conferences/conf-1").respond(200, json={"data": conf("conf-1", status="completed")})
    assert sync_conferences_periodic() == {"created": 0, "updated": 0, "closed": 1}
    cache.set(LAST_SYNC_KEY, 0)
    assert sync_conferences_periodic() is not None  # idle but overdue


def test_sync_telnyx_back_fills_every_conference_of_every_status(telnyx, capsys):
    """A first install: sync_telnyx lists all statuses (no filter), all pages, with participants."""
    from django.core.management import call_command

    live = conf("conf-live", name="Live room")
    done = conf("conf-done", name="Yesterday", status="completed", end_reason="all_left",
                updated_at="2026-11-20T10:30:00Z")
    second = telnyx.get("/conferences", params={"page[number]": "2"}).respond(
        200, json={"data": [done], "meta": {"page_number": 2, "page_size": 1, "total_pages": 2, "total_results": 2}}
    )
    first = telnyx.get("/conferences").respond(
        200, json={"data": [live], "meta": {"page_number": 1, "page_size": 1, "total_pages": 2, "total_results": 2}}
    )
    telnyx.get("/conferences/conf-live/participants").respond(200, json=page([member("v3:a")]))
    telnyx.get("/conferences/conf-done/participants").respond(200, json=page([member("v3:b", status="left")]))
    call_command("sync_telnyx", only=["conferences"])  # other apps' syncs have their own tests
    assert "conferences: created 2, updated 0, closed 0" in capsys.readouterr().out
    assert first.called and second.called
    assert "filter" not in str(first.calls.last.request.url)
    finished = Conference.objects.get(conference_id="conf-done")
    assert finished.status == Conference.Status.COMPLETED and finished.end_reason == "all_left"
    assert finished.ended_at.isoformat().startswith("2026-11-20T10:30")
    assert Conference.objects.get(conference_id="conf-live").status == Conference.Status.IN_PROGRESS
    assert Participant.objects.get(call_control_id="v3:b").status == Participant.Status.LEFT
    assert Participant.objects.get(call_control_id="v3:a").status == Participant.Status.JOINED


def test_sync_telnyx_command_reports_outage(telnyx):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    telnyx.get("/conferences").respond(401, json={"errors": [{"title": "Authentication failed", "detail": "Bad key"}]})
    with pytest.raises(CommandError, match="Bad key"):
        call_command("sync_telnyx")


def test_sync_button_is_for_operators(client, viewer, operator, telnyx, django_capture_on_commit_callbacks):
    telnyx.get("/conferences").respond(200, json=page([conf("conf-77")]))
    telnyx.get("/conferences/conf-77/participants").respond(200, json=page([]))
    client.force_login(viewer)
    assert client.post("/conferences/sync/").status_code == 403
    client.force_login(operator)
    assert "Sync with Telnyx now" in client.get("/conferences/").content.decode()
    response = client.post("/conferences/sync/", follow=True)
    assert "Sync with Telnyx requested" in response.content.decode()
    assert Conference.objects.filter(conference_id="conf-77").exists()
