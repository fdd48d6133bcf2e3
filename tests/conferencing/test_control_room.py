"""The control room as a supervisor sees it: who participants are, the timeline, durations, live regions."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from calls.models import Call
from conferencing import labels, services
from conferencing.models import Conference, Participant
from portal.models import Command
from recordings.models import Recording
from tests.calls.factories import CallFactory
from tests.factories import CommandFactory, ConferenceFactory, ParticipantFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def leg(call_control_id, from_number="+15550001111", to_number="+15550002222", direction="incoming", **extra):
    return Call.objects.create(
        call_control_id=call_control_id, from_number=from_number, to_number=to_number, direction=direction, **extra
    )


def event(event_type, seconds=0, conference_id="conf-1", call_control_id="", **payload):
    return WebhookEvent.objects.create(
        event_id=f"e-{WebhookEvent.objects.count()}", event_type=event_type, occurred_at=T0 + timedelta(seconds=seconds),
        raw_body="{}", payload={"conference_id": conference_id, "call_control_id": call_control_id, **payload},
        conference_id=conference_id, call_control_id=call_control_id, status=WebhookEvent.Status.PROCESSED,
    )


# --- who participants are -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_number", "to_number", "direction", "label"),
    [
        ("+15550001111", "+15550002222", "incoming", "+15550001111"),  # the caller
        ("+15550001111", "+15550002222", "outgoing", "+15550002222"),  # who the portal dialled
        ("sip:alice@pbx.example.com;transport=tls", "+15550002222", "incoming", "alice@pbx.example.com"),
        ("<sips:bob@pbx.example.com>", "", "", "bob@pbx.example.com"),
    ],
)
def test_leg_label_names_the_person_not_the_leg(from_number, to_number, direction, label):
    assert labels.leg_label(from_number=from_number, to_number=to_number, direction=direction) == label


def test_participant_joining_on_a_known_leg_is_labelled(post_webhook, event_doc):
    leg("v3:cc-alice", from_number="+15550001111")
    post_webhook(event_doc("conference.participant.joined", id="j1"))
    assert Participant.objects.get(call_control_id="v3:cc-alice").label == "+15550001111"


def test_leg_known_after_the_join_labels_the_participant_and_refreshes_the_page(post_webhook, event_doc, listen):
    post_webhook(event_doc("conference.participant.joined", id="j1"))
    assert Participant.objects.get().label == ""
    listen("conference.conf-1")
    post_webhook(event_doc("call.initiated", id="i1", direction="outgoing", to="+15557770000"))
    assert Participant.objects.get().label == "+15557770000"
    assert any("conference-live" in html for html in listen.received("conference.conf-1"))


def test_call_answered_without_direction_uses_the_legs_direction(post_webhook, event_doc):
    leg("v3:cc-alice", from_number="+15550001111", to_number="+15559990000", direction="outgoing")
    ParticipantFactory(conference=ConferenceFactory(conference_id="conf-1"), call_control_id="v3:cc-alice")
    post_webhook(event_doc("call.answered", id="a1", **{"from": "+15550001111", "to": "+15559990000"}))
    assert Participant.objects.get().label == "+15559990000"


def test_an_existing_label_is_not_overwritten():
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:a", label="Front desk")
    assert services.participants_label_from_call("v3:a", "+15550001111") == 0
    assert Participant.objects.get().label == "Front desk"


def test_sync_labels_new_participants_from_known_legs(telnyx):
    from conferencing.sync import fetch_and_sync
    from tests.conferencing.test_sync_and_pages import conf, member, page

    leg("v3:n1", from_number="+15551230000")
    telnyx.get("/conferences").respond(200, json=page([conf("conf-new")]))
    telnyx.get("/conferences/conf-new/participants").respond(200, json=page([member("v3:n1"), member("v3:n2")]))
    fetch_and_sync(everything=True)
    assert dict(Participant.objects.values_list("call_control_id", "label")) == {"v3:n1": "+15551230000", "v3:n2": ""}


def test_roster_shows_who_with_the_call_control_id_only_on_hover(client, viewer):
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:alice-leg", label="+15550001111")
    ParticipantFactory(conference=conference, call_control_id="v3:mystery-leg")
    client.force_login(viewer)
    html = client.get("/conferences/conf-1/").content.decode()
    assert ">+15550001111<" in html and ">Unknown caller<" in html
    assert 'title="call_control_id v3:alice-leg"' in html
    assert ">v3:alice-leg<" not in html and ">v3:mystery-leg<" not in html


def test_api_and_admin_show_the_display_name(client, administrator):
    conference = ConferenceFactory(conference_id="conf-1")
    participant = ParticipantFactory(conference=conference, call_control_id="v3:a", label="+15550001111")
    client.force_login(administrator)
    body = client.get("/api/v1/conferences/conf-1/").json()
    assert body["participants"][0]["display_name"] == "+15550001111"
    assert body["participants"][0]["call_control_id"] == "v3:a"
    changelist = client.get("/admin/conferencing/participant/").content.decode()
    assert "+15550001111" in changelist and 'title="call_control_id v3:a"' in changelist
    inline = client.get(f"/admin/conferencing/conference/{conference.pk}/change/").content.decode()
    assert "+15550001111" in inline
    assert participant.display_name == str(participant) == "+15550001111"


# --- durations ------------------------------------------------------------------------------------


def test_ended_conference_and_participants_show_their_real_length(client, viewer):
    conference = ConferenceFactory(
        conference_id="conf-1", status=Conference.Status.COMPLETED, created_at=T0, ended_at=T0 + timedelta(seconds=3723)
    )
    ParticipantFactory(conference=conference, status=Participant.Status.LEFT, joined_at=T0 + timedelta(seconds=60),
                       left_at=T0 + timedelta(seconds=185), label="+1555")
    client.force_login(viewer)
    html = client.get("/conferences/conf-1/").content.decode()
    assert "1:02:03" in html  # the conference
    assert "0:02:05" in html  # the participant
    assert "1:02:03" in client.get("/conferences/").content.decode()
    api = client.get("/api/v1/conferences/conf-1/").json()
    assert api["duration_seconds"] == 3723 and api["participants"][0]["duration_seconds"] == 125


def test_running_conference_ticks_from_its_start(client, viewer):
    ConferenceFactory(conference_id="conf-1", created_at=T0)
    client.force_login(viewer)
    assert f'data-since="{T0.isoformat()}"' in client.get("/conferences/conf-1/").content.decode()


# --- timeline -------------------------------------------------------------------------------------


def test_a_command_is_one_timeline_line_whatever_its_status(client, viewer):
    conference = ConferenceFactory(conference_id="conf-1")
    command = CommandFactory(action="conference.mute", target="conf-1", status=Command.Status.SUCCEEDED, attempts=2)
    client.force_login(viewer)
    html = client.get("/conferences/conf-1/timeline/").content.decode()
    assert html.count(f'id="timeline-command-{command.pk}"') == 1
    assert "Succeeded" in html and "after 2 attempts" in html
    assert conference.conference_id in html


def test_the_timeline_costs_the_same_queries_with_many_commands_told_in_words(client, viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ConferenceFactory(conference_id="conf-1", name="Support huddle")
    ParticipantFactory(conference=Conference.objects.get(conference_id="conf-1"), call_control_id="v3:a", label="+1 555 0101")
    client.force_login(viewer)

    def timeline_queries(commands: int) -> int:
        Command.objects.all().delete()
        for _ in range(commands):
            CommandFactory(action="conference.mute", target="conf-1", status=Command.Status.SUCCEEDED,
                           params={"call_control_ids": ["v3:a"]})
        with CaptureQueriesContext(connection) as captured:
            html = client.get("/conferences/conf-1/timeline/").content.decode()
        assert html.count("Muted +1 555 0101 in Support huddle") == commands  # each line told in words
        return len(captured.captured_queries)

    # The conference's and the participant's names are looked up once per page, not once per line.
    assert timeline_queries(2) == timeline_queries(20)


def test_command_status_changes_replace_the_line_in_place(telnyx, operator, listen, django_capture_on_commit_callbacks):
    from portal.commands import services as commands

    ConferenceFactory(conference_id="conf-1")
    telnyx.post("/conferences/conf-1/actions/end").respond(200, json={"data": {"result": "ok"}})
    listen("conference.conf-1")
    with django_capture_on_commit_callbacks(execute=True):
        command = commands.command_issue(action_name="conference.end", target="conf-1", params={}, user=operator, door="page")
    pushed = [html for html in listen.received("conference.conf-1") if f"timeline-command-{command.pk}" in html]
    assert len(pushed) == 3  # queued, running, succeeded
    queued, running, succeeded = pushed
    assert 'hx-swap-oob="afterbegin:#timeline"' in queued and "Queued" in queued
    for html, status in ((running, "Running"), (succeeded, "Succeeded")):
        assert f'<li id="timeline-command-{command.pk}" class="timeline-item command" hx-swap-oob="true">' in html
        assert "afterbegin:#timeline" not in html and status in html
        # the form's own result badge is the same element, replaced in place too
        assert f'<span id="outcome-{command.pk}" class="badge {status.lower()}" role="status" hx-swap-oob="true">' in html
    assert "End conference succeeded" in succeeded


def test_floor_changes_fold_into_one_line_with_the_current_speaker(client, viewer):
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:a", label="+1555000AAAA")
    ParticipantFactory(conference=conference, call_control_id="v3:b", label="+1555000BBBB")
    event("conference.participant.joined", 0, call_control_id="v3:a")
    for i in range(6):
        event("conference.floor.changed", 3 + 3 * i, call_control_id="v3:a" if i % 2 else "v3:b")
    event("conference.participant.left", 30, call_control_id="v3:b")
    event("conference.floor.changed", 33, call_control_id="v3:a")
    client.force_login(viewer)
    html = client.get("/conferences/conf-1/timeline/").content.decode()
    assert html.count('class="timeline-item floor"') == 2  # two runs, split by the leave
    assert "changed 6 times since 09:00:03, now <strong>+1555000AAAA</strong>" in html
    assert "now <strong>+1555000AAAA</strong>" in html
    assert html.count('class="timeline-item event"') == 2
    lines = html.split('class="timeline-item')
    assert "participant.left" in lines[2] and "+1555000BBBB" in lines[2]  # newest first


def test_floor_changes_cannot_crowd_out_other_lines():
    from conferencing.selectors import conference_timeline

    conference = ConferenceFactory(conference_id="conf-1")
    event("conference.participant.joined", 0, call_control_id="v3:a")
    for i in range(30):
        event("conference.floor.changed", 10 + i, call_control_id="v3:a")
    timeline = conference_timeline(conference, limit=10)
    kinds = [item["kind"] for item in timeline["items"]]
    assert kinds[0] == "floor" and timeline["items"][0]["count"] == 10
    assert timeline["truncated"] is True  # the first 20 floor changes and the join are older than the window


def test_timeline_includes_the_create_command_that_made_the_conference(client, viewer):
    ConferenceFactory(conference_id="conf-1")
    create = CommandFactory(action="conference.create", target="v3:leg", status=Command.Status.SUCCEEDED,
                            response={"data": {"id": "conf-1", "name": "Room"}})
    client.force_login(viewer)
    assert f"timeline-command-{create.pk}" in client.get("/conferences/conf-1/timeline/").content.decode()


# --- recordings, badge, end of the conference -------------------------------------------------------


def test_recording_badge_counts_saved_recordings_when_idle(client, viewer):
    ConferenceFactory(conference_id="conf-1")
    ConferenceFactory(conference_id="conf-2", recording_state=Conference.RecordingState.RECORDING)
    for i in range(2):
        Recording.objects.create(recording_id=f"rec-{i}", conference_id="conf-1", started_at=T0, ended_at=T0 + timedelta(seconds=75))
    client.force_login(viewer)
    listing = client.get("/conferences/").content.decode()
    assert "Recorded (2)" in listing and "● Recording" in listing
    detail = client.get("/conferences/conf-1/").content.decode()
    assert "Recorded (2)" in detail
    panel = client.get("/conferences/conf-1/recordings/").content.decode()
    assert panel.strip().startswith('<section id="conference-recordings"')
    assert panel.count("0:01:15") == 2
    assert client.get("/api/v1/conferences/conf-1/").json()["recordings_count"] == 2


def test_recording_saved_refreshes_the_recordings_panel_of_open_pages(post_webhook, event_doc, listen):
    post_webhook(event_doc("conference.created", id="c1"))
    listen("conference.conf-1")
    post_webhook(event_doc("conference.recording.saved", id="r1"))
    pushed = listen.received("conference.conf-1")
    assert any("conference-recordings" in html and "conference-timeline" in html for html in pushed)


def test_ending_asks_open_pages_to_drop_the_controls(post_webhook, event_doc, listen, client, operator):
    post_webhook(event_doc("conference.created", id="c1"))
    client.force_login(operator)
    assert "End conference" in client.get("/conferences/conf-1/controls/").content.decode()
    listen("conference.conf-1")
    post_webhook(event_doc("conference.ended", id="c2", occurred_at="2026-11-23T10:01:01Z"))
    assert any("conference-controls" in html for html in listen.received("conference.conf-1"))
    controls = client.get("/conferences/conf-1/controls/").content.decode()
    assert "End conference" not in controls and "Mute" not in controls
    assert "nothing left to control" in controls and "1:01:01" in controls
    live = client.get("/conferences/conf-1/live/").content.decode()
    assert "Completed" in live and "1:01:01" in live


def test_viewer_gets_no_controls_region_content(client, viewer):
    ConferenceFactory(conference_id="conf-1")
    client.force_login(viewer)
    html = client.get("/conferences/conf-1/controls/").content.decode()
    assert "Controls need the Operator, Supervisor or Administrator role" in html and "<form" not in html


# --- the conference's name ------------------------------------------------------------------------


def test_name_comes_from_the_portals_own_create_command(post_webhook, event_doc, telnyx):
    CommandFactory(action="conference.create", target="v3:leg", status=Command.Status.SUCCEEDED,
                   params={"call_control_id": "v3:leg", "name": "Asked name"},
                   response={"data": {"id": "conf-1", "name": "Weekly sync"}})
    retrieve = telnyx.get("/conferences/conf-1").respond(200, json={"data": {"id": "conf-1", "name": "unused"}})
    post_webhook(event_doc("conference.created", id="c1"))
    assert Conference.objects.get().name == "Weekly sync"
    assert not retrieve.called


def test_name_is_read_from_telnyx_when_the_event_has_none(post_webhook, event_doc, telnyx, listen):
    retrieve = telnyx.get("/conferences/conf-1").respond(
        200, json={"data": {"id": "conf-1", "name": "Escalation bridge", "region": "US", "status": "in_progress"}}
    )
    listen("conference.conf-1")
    listen("conferences")
    post_webhook(event_doc("conference.created", id="c1"))
    assert retrieve.call_count == 1
    conference = Conference.objects.get()
    assert conference.name == "Escalation bridge" and conference.region == "US"
    assert any('<h1 id="conference-title"' in html and "Escalation bridge" in html for html in listen.received("conference.conf-1"))
    assert any("Escalation bridge" in html for html in listen.received("conferences"))


def test_name_lookup_failure_leaves_the_conference_unnamed(post_webhook, event_doc, telnyx):
    telnyx.get("/conferences/conf-1").respond(404, json={"errors": [{"title": "Not found"}]})
    post_webhook(event_doc("conference.created", id="c1"))
    assert Conference.objects.get().name == ""
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_create_command_success_shows_the_name_at_once(telnyx, operator, listen, django_capture_on_commit_callbacks):
    from portal.commands import services as commands

    telnyx.post("/conferences").respond(200, json={"data": {"id": "conf-9", "name": "New room", "status": "init"}})
    listen("conferences")
    CallFactory(call_control_id="v3:leg")
    with django_capture_on_commit_callbacks(execute=True):
        commands.command_issue(action_name="conference.create", target="v3:leg",
                               params={"call_control_id": "v3:leg", "name": "New room"}, user=operator, door="page")
    assert Conference.objects.get(conference_id="conf-9").name == "New room"
    assert any("New room" in html for html in listen.received("conferences"))


# --- the create page picks a live leg -------------------------------------------------------------


def test_create_page_offers_live_legs_by_number_and_state(client, operator):
    leg("v3:live", from_number="+15550001111", to_number="+15550002222", state=Call.State.ANSWERED, started_at=T0)
    leg("v3:gone", from_number="+15559999999", state=Call.State.HANGUP)
    in_room = leg("v3:busy", from_number="+15553333333", state=Call.State.ANSWERED)
    ParticipantFactory(call_control_id=in_room.call_control_id)
    client.force_login(operator)
    html = client.get("/conferences/new/").content.decode()
    assert '<select id="id_call_control_id" name="call_control_id">' in html
    assert '<option value="v3:live" title="v3:live"' in html
    assert "+15550001111 → +15550002222 · Answered" in html
    assert "+15559999999" not in html  # ended legs cannot start anything
    assert "+15553333333 → +15550002222 · Answered · in a conference" in html


def test_create_page_without_live_legs_explains_itself(client, operator):
    client.force_login(operator)
    assert "No live call legs right now" in client.get("/conferences/new/").content.decode()


def test_create_from_the_picked_leg_sends_it_to_telnyx(client, operator, telnyx, django_capture_on_commit_callbacks):
    leg("v3:live", state=Call.State.ANSWERED)
    route = telnyx.post("/conferences").respond(200, json={"data": {"id": "conf-9", "name": "Standup"}})
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/conferences/new/", {"call_control_id": "v3:live", "name": "Standup"})
    assert response.status_code == 302
    body = json.loads(route.calls.last.request.content)
    assert body["call_control_id"] == "v3:live" and body["name"] == "Standup"


def test_create_with_a_typed_leg_id_overrides_the_list(client, operator, telnyx, django_capture_on_commit_callbacks):
    route = telnyx.post("/conferences").respond(200, json={"data": {"id": "conf-9", "name": "X"}})
    client.force_login(operator)
    typed = {"call_control_id": "", "other_call_control_id": " v3:typed ", "name": "X"}
    html = client.post("/conferences/new/", typed).content.decode()
    assert "The portal has never seen this call leg" in html and not route.called  # unknown: force it, knowingly
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/conferences/new/", {**typed, "force": "on"})
    assert json.loads(route.calls.last.request.content)["call_control_id"] == "v3:typed"
    assert "force" not in json.loads(route.calls.last.request.content)


def test_create_without_a_leg_is_a_form_error(client, operator):
    client.force_login(operator)
    html = client.post("/conferences/new/", {"call_control_id": "", "name": "X"}).content.decode()
    assert "This field may not be blank." in html or "This field is required." in html
    assert Command.objects.count() == 0


# --- the list paginates and stays live ------------------------------------------------------------


def test_conference_list_paginates_and_says_which_pages_are_live(client, viewer):
    for i in range(55):
        ConferenceFactory(conference_id=f"conf-{i:02d}", created_at=T0 + timedelta(minutes=i))
    client.force_login(viewer)
    first = client.get("/conferences/")
    assert first.context["live_groups"] == ["conferences"] and len(first.context["conferences"]) == 50
    assert "Page 1 of 2" in first.content.decode() and "conf-54" in first.content.decode()
    second = client.get("/conferences/", {"page": 2})
    assert second.context["live_groups"] == [] and len(second.context["conferences"]) == 5
    assert "does not update live" in second.content.decode()
    filtered = client.get("/conferences/", {"status": "in_progress"})
    html = filtered.content.decode()
    assert filtered.context["live_groups"] == ["conferences"] and "data-live-refetch" in html
    assert "refreshes itself" in html
    assert "data-live-refetch" not in first.content.decode()


def test_live_list_fragment_is_the_unfiltered_first_page(post_webhook, event_doc, listen):
    for i in range(55):
        ConferenceFactory(conference_id=f"old-{i:02d}", created_at=T0 - timedelta(days=1, minutes=i))
    listen("conferences")
    post_webhook(event_doc("conference.created", id="c1"))
    table = listen.received("conferences")[-1]
    assert table.count("<tr id=") == 50 and "conf-1" in table
