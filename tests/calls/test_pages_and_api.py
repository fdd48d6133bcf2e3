"""The Calls pages, the API reads, the admin list and what is published live to which group."""
import datetime

import pytest
from django.utils import timezone

from calls.models import Call
from tests.calls.factories import CallFactory

pytestmark = pytest.mark.django_db
CC = "v3:cc-alice"


def test_list_shows_active_then_recent_with_badges_and_where(client, viewer):
    CallFactory(call_control_id="v3:live", from_number="+1555000777", queue_name="support",
                recording_state=Call.RecordingState.RECORDING, streaming=True)
    CallFactory(call_control_id="v3:done", state=Call.State.HANGUP, hangup_cause="normal_clearing",
                started_at=timezone.now() - datetime.timedelta(minutes=3), ended_at=timezone.now())
    client.force_login(viewer)
    page = client.get("/calls/").content.decode()
    active, recent = page.split('id="active-calls"')[1].split('id="recent-calls"')
    assert "v3:live" in active and "queue: support" in active and "● Recording" in active and "Streaming" in active
    assert "data-since=" in active  # the duration ticks
    assert "v3:done" in recent and "normal_clearing" in recent and "0:03:00" in recent
    assert 'ws-connect="/ws/live/?subscribe=calls,alerts"' in page


def test_list_empty_states_explain_themselves(client, viewer):
    client.force_login(viewer)
    page = client.get("/calls/").content.decode()
    assert "No call is up right now" in page and "call.initiated" in page


@pytest.mark.parametrize("query, shown, hidden", [
    ("q=0777", "v3:live", "v3:done"),
    ("q=v3:done", "v3:done", "v3:live"),
    ("q=session-x", "v3:live", "v3:done"),
    ("state=hangup", "v3:done", "v3:live"),
    ("active=true", "v3:live", "v3:done"),
    ("active=false", "v3:done", "v3:live"),
    ("since=2000-01-01&until=2999-01-01&q=live", "v3:live", "v3:done"),
    ("direction=outgoing", "v3:done", "v3:live"),
])
def test_filters_and_search_by_number_or_id(client, viewer, query, shown, hidden):
    CallFactory(call_control_id="v3:live", from_number="+1555000777", call_session_id="session-x")
    CallFactory(call_control_id="v3:done", state=Call.State.HANGUP, direction="outgoing")
    client.force_login(viewer)
    page = client.get(f"/calls/?{query}").content.decode()
    assert shown in page and hidden not in page
    assert "subscribe=calls" not in page  # filtered lists do not patch themselves


def test_recent_calls_are_paginated(client, viewer):
    for n in range(55):
        CallFactory(call_control_id=f"v3:old-{n}", state=Call.State.HANGUP,
                    started_at=timezone.now() - datetime.timedelta(minutes=n))
    client.force_login(viewer)
    first = client.get("/calls/").content.decode()
    assert "Page 1 of 2" in first and "v3:old-0<" not in first.replace("</code>", "<")[:0]
    assert first.count('data-call-control-id="v3:old-') == 50
    second = client.get("/calls/?page=2").content.decode()
    assert second.count('data-call-control-id="v3:old-') == 5
    assert "subscribe=calls" not in second


def test_detail_page_shows_everything_about_the_call(client, operator, supervisor, post_webhook, event_doc):
    events = [
        ("call.initiated", {}), ("call.answered", {}), ("call.machine.detection.ended", {"result": "machine"}),
        ("call.dtmf.received", {"digit": "4"}), ("call.dtmf.received", {"digit": "2"}),
        ("call.transcription", {"transcription_data": {"transcript": "I want my money back", "is_final": True}}),
        ("call.recording.error", {"reason": "insufficient_credit"}),
    ]
    for second, (event_type, extra) in enumerate(events):
        post_webhook(event_doc(event_type, id=f"e{second}", occurred_at=f"2026-11-23T09:00:{second:02d}Z", **extra))
    client.force_login(operator)
    response = client.get(f"/calls/{CC}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "+15550001111" in page and "Answered" in page
    # Digits and transcripts are voice-grade content (issue 24): an Operator sees that they exist, masked.
    assert "<code>••</code> 2 digits pressed (hidden" in page and "<code>42</code>" not in page
    assert "I want my money back" not in page and "1 line transcribed (hidden" in page
    assert "machine" in page and "insufficient_credit" in page
    assert "call.dtmf.received" in page and "digit 4" not in page  # the timeline, masked
    pk = Call.objects.get().pk
    assert f"subscribe=call.{pk},call.{pk}.masked" in page and f"call.{pk}.heard" not in page
    client.force_login(supervisor)
    heard = client.get(f"/calls/{CC}/").content.decode()
    assert "<code>42</code>" in heard and "I want my money back" in heard and "digit 4" in heard
    assert f"subscribe=call.{pk},call.{pk}.heard" in heard
    for group in ("Media", "Recording", "Streaming", "Transcription", "Advanced", "Queue", "Conference"):
        assert f"<h3>{group}</h3>" in page
    assert "Send DTMF" in page
    # Streaming and forking send the call's audio elsewhere: listening, so Supervisors only (issue 24).
    assert "Start streaming" not in page and "Start forking" not in page


def test_detail_timeline_is_oldest_first_with_commands(client, operator, post_webhook, event_doc):
    from portal.models import Command

    post_webhook(event_doc("call.initiated", id="i", occurred_at="2026-11-23T09:00:00Z"))
    post_webhook(event_doc("call.hangup", id="h", occurred_at="2026-11-23T09:05:00Z"))
    post_webhook(event_doc("call.answered", id="a", occurred_at="2026-11-23T09:01:00Z"))
    command = Command.objects.create(action="call.send_dtmf", target=CC, params={"digits": "1"}, door="page")
    Command.objects.filter(pk=command.pk).update(created_at=datetime.datetime(2026, 11, 23, 9, 2, tzinfo=datetime.UTC))
    client.force_login(operator)
    page = client.get(f"/calls/{CC}/timeline/").content.decode()
    order = [page.index(s) for s in ("call.initiated", "call.answered", "call.send_dtmf", "call.hangup")]
    assert order == sorted(order)


def test_viewer_sees_no_controls_and_unknown_call_is_404(client, viewer):
    CallFactory(call_control_id=CC)
    client.force_login(viewer)
    page = client.get(f"/calls/{CC}/").content.decode()
    assert "Controls need the Operator, Supervisor or Administrator role" in page and "Send DTMF" not in page
    assert client.get("/calls/v3:nope/").status_code == 404


def test_operator_is_not_offered_the_supervisor_switch(client, operator, supervisor):
    CallFactory(call_control_id=CC)
    client.force_login(operator)
    assert "Switch supervisor role" not in client.get(f"/calls/{CC}/").content.decode()
    client.force_login(supervisor)
    assert "Switch supervisor role" in client.get(f"/calls/{CC}/").content.decode()


def test_page_forms_follow_the_declaration(client, supervisor):
    CallFactory(call_control_id=CC)
    client.force_login(supervisor)
    page = client.get(f"/calls/{CC}/").content.decode()
    form = page.split('id="form-record_start"')[1].split("</details>")[0]
    assert 'name="format" required' in form and 'name="channels" required' in form
    assert '<option value="trim-silence">' in form
    streaming = page.split('id="form-streaming_start"')[1].split("</details>")[0]
    assert 'name="custom_parameters"' not in streaming and 'name="dialogflow_config"' not in streaming
    assert 'name="stream_auth_token"' in streaming


def test_recordings_of_this_call_are_listed(client, viewer):
    from recordings.models import Recording

    call = CallFactory(call_control_id=CC, call_session_id="session-1")
    Recording.objects.create(recording_id="rec-by-id", call_control_id=CC)
    Recording.objects.create(recording_id="rec-by-session", call_session_id="session-1")
    Recording.objects.create(recording_id="rec-other", call_session_id="session-2")
    client.force_login(viewer)
    page = client.get(f"/calls/{call.call_control_id}/").content.decode()
    assert "rec-by-id" in page and "rec-by-session" in page and "rec-other" not in page


def test_api_list_and_detail(client, viewer, supervisor, post_webhook, event_doc):
    post_webhook(event_doc("call.initiated", id="i", occurred_at="2026-11-23T09:00:00Z"))
    post_webhook(event_doc("call.dtmf.received", id="d", occurred_at="2026-11-23T09:00:05Z", digit="7"))
    post_webhook(event_doc("call.transcription", id="t", occurred_at="2026-11-23T09:00:06Z",
                           transcription_data={"transcript": "hi", "is_final": False}))
    CallFactory(call_control_id="v3:other", state=Call.State.HANGUP)
    client.force_login(viewer)
    listing = client.get("/api/v1/calls/?active=true").json()
    assert listing["count"] == 1 and listing["results"][0]["call_control_id"] == CC
    assert client.get("/api/v1/calls/?q=v3:other").json()["results"][0]["state"] == "hangup"
    detail = client.get(f"/api/v1/calls/{CC}/").json()
    # A Viewer may not listen: digits and transcript text masked (issue 24).
    assert detail["dtmf"] == "•" and detail["client_state_text"] == "hello"
    assert detail["transcript"]["interim"][0]["text"] == "(hidden: needs the listen permission)"
    # The digit is nowhere in the timeline's words (ids and times are numbers of their own: a row id may hold a 7).
    shown = [str({k: v for k, v in item.items() if k not in ("id", "at")}) for item in detail["timeline"]]
    assert not any("7" in text for text in shown) and "hi" not in [i.get("summary") for i in detail["timeline"]]
    client.force_login(supervisor)
    heard = client.get(f"/api/v1/calls/{CC}/").json()
    assert heard["dtmf"] == "7"
    assert heard["transcript"] == {"final": [], "interim": [
        {"occurred_at": "2026-11-23T09:00:06Z", "text": "hi", "is_final": False, "confidence": None, "track": ""}]}
    client.force_login(viewer)
    detail = client.get(f"/api/v1/calls/{CC}/").json()
    assert [(i["kind"], i["title"]) for i in detail["timeline"]] == [
        ("event", "call.initiated"), ("event", "call.dtmf.received"), ("event", "call.transcription")]
    assert detail["timeline"][1]["summary"] == "digit (hidden: needs the listen permission)"
    assert client.get("/api/v1/calls/v3:nope/").status_code == 404


def test_api_requires_the_view_permission(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get("/api/v1/calls/").status_code == 403
    client.logout()
    assert client.get("/api/v1/calls/").status_code in (401, 403)


def test_admin_lists_filters_and_searches(client, operator):
    CallFactory(call_control_id="v3:rec", recording_state=Call.RecordingState.RECORDING, from_number="+1999")
    CallFactory(call_control_id="v3:plain")
    client.force_login(operator)
    page = client.get("/admin/calls/call/?recording_state__exact=recording").content.decode()
    assert "v3:rec" in page and "v3:plain" not in page
    page = client.get("/admin/calls/call/?q=%2B1999").content.decode()
    assert "v3:rec" in page and "v3:plain" not in page
    assert "Stop recording" in page and "Take out of its queue" in page


@pytest.mark.django_db(transaction=True)  # each event commits for real, as in production
def test_events_publish_to_the_call_page_and_the_calls_list(post_webhook, event_doc, listen):
    post_webhook(event_doc("call.initiated", id="i", occurred_at="2026-11-23T09:00:00Z"))
    call = Call.objects.get()
    # What was said or pressed goes to the content groups: as heard to listeners, masked to others (issue 24).
    heard, masked = f"call.{call.pk}.heard", f"call.{call.pk}.masked"
    listen(f"call.{call.pk}")
    listen(heard)
    listen(masked)
    listen("calls")
    post_webhook(event_doc("call.dtmf.received", id="d", occurred_at="2026-11-23T09:00:05Z", digit="9"))
    page = "".join(listen.received(heard))
    assert 'id="call-dtmf"' in page and "<code>9</code>" in page
    assert '<div hx-swap-oob="beforeend:#call-timeline-rows"><li id="timeline-event-' in page and "digit 9" in page
    hidden = "".join(listen.received(masked))
    assert 'id="call-dtmf"' in hidden and "<code>•</code>" in hidden and "9" not in hidden.split("call-timeline-rows")[0]
    assert "digit 9" not in hidden and "hidden: needs the listen permission" in hidden
    assert "<code>9</code>" not in "".join(listen.received(f"call.{call.pk}"))
    assert listen.received("calls") == []  # a digit changes nothing on the list
    post_webhook(event_doc("call.transcription", id="t", occurred_at="2026-11-23T09:00:06Z",
                           transcription_data={"transcript": "Hello there", "is_final": True}))
    page = "".join(listen.received(heard))
    assert 'id="call-transcript"' in page and "Hello there" in page
    hidden = "".join(listen.received(masked))
    assert 'id="call-transcript"' in hidden and "Hello there" not in hidden
    lists = "".join(listen.received("calls"))
    assert 'id="call-tables"' in lists and "Transcribing" in lists  # transcription started: a badge on the list
    post_webhook(event_doc("call.hangup", id="h", occurred_at="2026-11-23T09:01:00Z"))
    assert "Ended" in "".join(listen.received(f"call.{call.pk}"))
    assert 'id="recent-calls"' in "".join(listen.received("calls"))


def test_command_outcomes_reach_the_call_page(client, operator, telnyx, listen, django_capture_on_commit_callbacks):
    call = CallFactory(call_control_id=CC)
    telnyx.post(f"/calls/{CC}/actions/send_dtmf").respond(200, json={"data": {"result": "ok"}})
    listen(f"call.{call.pk}")
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/send_dtmf/", {"digits": "1"}, content_type="application/json")
    outcomes = "".join(listen.received(f"call.{call.pk}"))
    assert "#command-outcomes" in outcomes and "call.send_dtmf" in outcomes and "Succeeded" in outcomes


def test_dashboard_counts_active_calls(client, viewer):
    from portal.selectors import dashboard_counters

    CallFactory(call_control_id="v3:a")
    CallFactory(call_control_id="v3:b", state=Call.State.BRIDGED)
    CallFactory(call_control_id="v3:c", state=Call.State.HANGUP)
    assert dashboard_counters()["active_calls"] == 2


def test_live_calls_fragment_renders_paginated_without_a_request(db, listen, django_capture_on_commit_callbacks):
    """The worker renders the Calls tables with no request; more ended calls than a page must not break it."""
    from django.utils import timezone

    from calls.live import publish_calls
    from calls.models import Call
    from tests.calls.factories import CallFactory

    for n in range(60):
        CallFactory(call_control_id=f"v3:ended-{n}", state=Call.State.HANGUP, ended_at=timezone.now())
    listen("calls")
    with django_capture_on_commit_callbacks(execute=True):
        publish_calls(dashboard=False)
    (html,) = listen.received("calls")
    assert 'href="?page=2"' in html


def test_secret_parameters_are_password_inputs_on_the_call_page():
    from portal.commands import actions
    from portal.commands.forms import field_specs

    streaming = actions.get("call.streaming_start")
    token = next(spec for spec in field_specs(streaming) if spec["name"] == "stream_auth_token")
    assert token["kind"] == "password"


def test_speaker_changes_stay_off_the_call_timeline(db, post_webhook, event_doc):
    """conference.floor.changed every few seconds is the conference page's speaker highlight, not call news."""
    from calls import selectors
    from calls.models import Call

    post_webhook(event_doc("call.initiated", id="tl-1", call_control_id="v3:tl"))
    for n in range(3):
        post_webhook(event_doc("conference.floor.changed", id=f"tl-floor-{n}", call_control_id="v3:tl"))
    titles = [item["title"] for item in selectors.call_timeline(Call.objects.get(call_control_id="v3:tl"))["items"]]
    assert titles == ["call.initiated"]
