"""Every call action through the API, the page and the admin: the exact Telnyx request, refusals and secrets."""
import json

import pytest

from calls.actions import CALL_ACTIONS
from calls.models import Call
from portal.commands import actions
from portal.models import Command
from tests.calls.factories import CallFactory

pytestmark = pytest.mark.django_db
OK = {"data": {"result": "ok"}}
CC = "v3:cc-alice"

# short name -> (body posted to the portal, Telnyx method and path, whether the endpoint takes command_id)
ACTIONS = {
    "client_state_update": ({"client_state": "aGVsbG8="}, "PUT", f"/calls/{CC}/actions/client_state_update", False),
    "send_dtmf": ({"digits": "1234#", "duration_millis": 250}, "POST", f"/calls/{CC}/actions/send_dtmf", True),
    "siprec_start": ({"connector_name": "srs", "siprec_track": "both_tracks", "secure": True, "session_timeout_secs": 90},
                     "POST", f"/calls/{CC}/actions/siprec_start", False),
    "siprec_stop": ({}, "POST", f"/calls/{CC}/actions/siprec_stop", True),
    "suppression_start": ({"direction": "both", "noise_suppression_engine": "Krisp"}, "POST",
                          f"/calls/{CC}/actions/suppression_start", True),
    "suppression_stop": ({}, "POST", f"/calls/{CC}/actions/suppression_stop", True),
    "switch_supervisor_role": ({"role": "whisper"}, "POST", f"/calls/{CC}/actions/switch_supervisor_role", False),
    "playback_start": ({"audio_url": "https://e.com/a.mp3", "loop": "infinity", "overlay": True, "target_legs": "self"},
                       "POST", f"/calls/{CC}/actions/playback_start", True),
    "playback_stop": ({"stop": "all"}, "POST", f"/calls/{CC}/actions/playback_stop", True),
    "speak": ({"payload": "Hello", "voice": "female", "language": "en-US", "service_level": "premium", "loop": "2"},
              "POST", f"/calls/{CC}/actions/speak", True),
    "record_start": ({"format": "mp3", "channels": "dual", "play_beep": True, "transcription_language": "en-GB"},
                     "POST", f"/calls/{CC}/actions/record_start", True),
    "record_stop": ({}, "POST", f"/calls/{CC}/actions/record_stop", True),
    "record_pause": ({"recording_id": "rec-1"}, "POST", f"/calls/{CC}/actions/record_pause", True),
    "record_resume": ({}, "POST", f"/calls/{CC}/actions/record_resume", True),
    "fork_start": ({"rx": "udp:10.0.0.1:4000", "tx": "udp:10.0.0.1:4001", "stream_type": "decrypted"}, "POST",
                   f"/calls/{CC}/actions/fork_start", True),
    "fork_stop": ({"stream_type": "decrypted"}, "POST", f"/calls/{CC}/actions/fork_stop", True),
    "streaming_start": ({"stream_url": "wss://e.com/s", "stream_track": "both_tracks", "stream_codec": "PCMU",
                         "stream_bidirectional_sampling_rate": 16000}, "POST", f"/calls/{CC}/actions/streaming_start", True),
    "streaming_stop": ({"stream_id": "stream-1"}, "POST", f"/calls/{CC}/actions/streaming_stop", True),
    "transcription_start": ({"transcription_engine": "Telnyx", "transcription_tracks": "both"}, "POST",
                            f"/calls/{CC}/actions/transcription_start", True),
    "transcription_stop": ({}, "POST", f"/calls/{CC}/actions/transcription_stop", True),
    "enqueue": ({"queue_name": "support", "max_wait_time_secs": 300}, "POST", f"/calls/{CC}/actions/enqueue", True),
    "leave_queue": ({}, "POST", f"/calls/{CC}/actions/leave_queue", True),
    "join_conference": ({"conference_id": "conf-9", "mute": True, "beep_enabled": "on_enter"}, "POST",
                        "/conferences/conf-9/actions/join", True),
    # call-control (issue 28): Telnyx's wire names, `from` and bridge's `call_control_id`
    "hangup": ({"reason": "done"}, "POST", f"/calls/{CC}/actions/hangup", True),
    "transfer": ({"to": "+15557654321", "from": "+15550000000", "timeout_secs": 30, "audio_url": "https://e.com/r.mp3",
                  "early_media": True}, "POST", f"/calls/{CC}/actions/transfer", True),
    "bridge": ({"call_control_id": "v3:cc-bob", "play_ringtone": True, "ringtone": "uk"}, "POST",
               f"/calls/{CC}/actions/bridge", True),
}


@pytest.fixture
def leg(db):
    return CallFactory(call_control_id=CC)


def sent_body(body: dict, command: Command, takes_command_id: bool) -> dict:
    """What Telnyx must receive: the body with loops as numbers, the join's id in the path, command_id if taken."""
    sent = {k: (int(v) if k == "loop" and v != "infinity" else v) for k, v in body.items() if k != "conference_id"}
    if "conference_id" in body:
        sent["call_control_id"] = CC
    if takes_command_id:
        sent["command_id"] = str(command.command_id)
    return sent


def test_every_declared_call_action_is_covered():
    # join_conference is declared once with conference.join, in conferencing/actions.py (issue 27).
    assert {a.short_name for a in CALL_ACTIONS} == set(ACTIONS) - {"join_conference"}
    # listen_in is Telnyx's dial, not a call endpoint: tests/calls/test_listen_in.py.
    assert {a.short_name for a in actions.for_kind("call") if a.name.startswith("call.")} == set(ACTIONS) | {"listen_in"}


def test_every_call_action_is_grouped_for_the_page():
    assert {a.group for a in CALL_ACTIONS} | {actions.get("call.join_conference").group} == {"call", "media", "recording", "streaming", "transcription", "advanced",
                                               "queue", "conference"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_api_action_sends_the_exact_request(action, leg, supervisor, client, telnyx, django_capture_on_commit_callbacks):
    body, method, path, takes_command_id = ACTIONS[action]
    route = telnyx.route(method=method, path=path).respond(200, json=OK)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json")
    assert response.status_code == 202, response.content
    command = Command.objects.get()
    assert response.json()["id"] == command.pk and response.json()["action"] == f"call.{action}"
    assert route.call_count == 1
    assert json.loads(route.calls.last.request.content) == sent_body(body, command, takes_command_id)
    command.refresh_from_db()
    assert command.status == Command.Status.SUCCEEDED and command.door == Command.Door.API


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_page_action_sends_the_exact_request(action, leg, supervisor, client, telnyx, django_capture_on_commit_callbacks):
    body, method, path, takes_command_id = ACTIONS[action]
    route = telnyx.route(method=method, path=path).respond(200, json=OK)
    client.force_login(supervisor)
    form = {k: ("on" if v is True else str(v)) for k, v in body.items()}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/calls/{CC}/actions/{action}/", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "queued" in response.content.decode(), response.content.decode()
    command = Command.objects.get()
    assert command.door == Command.Door.PAGE
    assert json.loads(route.calls.last.request.content) == sent_body(body, command, takes_command_id)


@pytest.mark.parametrize(
    "admin_action, short, prepare",
    [
        ("issue_call_record_stop", "record_stop", {"recording_state": Call.RecordingState.RECORDING}),
        ("issue_call_streaming_stop", "streaming_stop", {"streaming": True}),
        ("issue_call_transcription_stop", "transcription_stop", {"transcribing": True}),
        ("issue_call_leave_queue", "leave_queue", {"queue_name": "support"}),
    ],
)
def test_admin_bulk_action_sends_the_exact_request(admin_action, short, prepare, operator, client, telnyx,
                                                   django_capture_on_commit_callbacks):
    busy = CallFactory(call_control_id="v3:busy", **prepare)
    idle = CallFactory(call_control_id="v3:idle")
    ended = CallFactory(call_control_id="v3:ended", state=Call.State.HANGUP, **prepare)
    route = telnyx.post(f"/calls/v3:busy/actions/{short}").respond(200, json=OK)
    other = telnyx.route(method="POST", path__regex=r"/calls/v3:(idle|ended)/").respond(200, json=OK)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/calls/call/", {"action": admin_action, "_selected_action": [busy.pk, idle.pk, ended.pk]})
    assert response.status_code == 302
    command = Command.objects.get()
    assert (command.action, command.target, command.door) == (f"call.{short}", "v3:busy", Command.Door.ADMIN)
    assert json.loads(route.calls.last.request.content) == {"command_id": str(command.command_id)}
    assert other.call_count == 0


@pytest.mark.parametrize(
    "action, body, field",
    [
        ("record_start", {"format": "ogg", "channels": "single"}, "format"),
        ("record_start", {"format": "mp3"}, "channels"),
        ("speak", {"payload": "Hi"}, "voice"),
        ("speak", {"payload": "Hi", "voice": "female", "language": "xx-XX"}, "language"),
        ("send_dtmf", {"digits": "12x"}, "digits"),
        ("send_dtmf", {"digits": "1", "duration_millis": 50}, "duration_millis"),
        ("client_state_update", {"client_state": "not base64!"}, "client_state"),
        ("client_state_update", {}, "client_state"),
        ("switch_supervisor_role", {"role": "none"}, "role"),
        ("playback_start", {"audio_url": "https://e.com/a.mp3", "media_name": "menu"}, "media_name"),
        ("playback_start", {}, "audio_url"),
        ("playback_start", {"audio_url": "https://e.com/a.mp3", "loop": "101"}, "loop"),
        ("fork_start", {"stream_type": "decrypted", "rx": "udp:1.2.3.4:5"}, "rx"),
        ("fork_start", {"stream_type": "raw"}, "stream_type"),
        ("streaming_start", {"stream_codec": "MP3"}, "stream_codec"),
        ("streaming_start", {"stream_bidirectional_sampling_rate": 44100}, "stream_bidirectional_sampling_rate"),
        ("siprec_start", {"session_timeout_secs": 30}, "session_timeout_secs"),
        ("suppression_start", {"noise_suppression_engine": "Magic"}, "noise_suppression_engine"),
        ("transcription_start", {"transcription_engine": "Whisper"}, "transcription_engine"),
        ("enqueue", {}, "queue_name"),
        ("join_conference", {}, "conference_id"),
        ("join_conference", {"conference_id": "c", "region": "Mars"}, "region"),
    ],
)
def test_invalid_parameters_are_refused_before_sending(action, body, field, leg, supervisor, client, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(supervisor)
    response = client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["extra"]["fields"]
    page = client.post(f"/calls/{CC}/actions/{action}/", {k: str(v) for k, v in body.items()}, HTTP_HX_REQUEST="true")
    assert "errorlist" in page.content.decode() and field in page.content.decode()
    assert Command.objects.count() == 0 and route.call_count == 0


def test_unknown_call_and_unknown_action_are_404(leg, operator, client):
    client.force_login(operator)
    assert client.post("/api/v1/calls/v3:nope/actions/speak/", {}, content_type="application/json").status_code == 404
    assert client.post(f"/api/v1/calls/{CC}/actions/explode/", {}, content_type="application/json").status_code == 404
    assert client.post(f"/calls/{CC}/actions/explode/", {}).status_code == 404


def test_viewer_is_refused_everywhere(leg, viewer, client, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(viewer)
    assert client.post(f"/api/v1/calls/{CC}/actions/send_dtmf/", {"digits": "1"}, content_type="application/json").status_code == 403
    assert client.post(f"/calls/{CC}/actions/send_dtmf/", {"digits": "1"}).status_code == 403
    client.post("/admin/calls/call/", {"action": "issue_call_leave_queue", "_selected_action": [leg.pk]})
    assert Command.objects.count() == 0 and route.call_count == 0


def test_operator_cannot_supervise(leg, operator, client, telnyx):
    route = telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    assert client.post(f"/api/v1/calls/{CC}/actions/switch_supervisor_role/", {"role": "monitor"},
                       content_type="application/json").status_code == 403
    assert client.post(f"/api/v1/calls/{CC}/actions/join_conference/", {"conference_id": "c", "supervisor_role": "whisper"},
                       content_type="application/json").status_code == 403
    assert route.call_count == 0


def test_stream_auth_token_is_sent_but_never_echoed(leg, supervisor, client, telnyx, django_capture_on_commit_callbacks, caplog):
    secret = "tok-s3cr3t-value"
    route = telnyx.post(f"/calls/{CC}/actions/streaming_start").respond(200, json=OK)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        api = client.post(f"/api/v1/calls/{CC}/actions/streaming_start/",
                          {"stream_url": "wss://e.com/s", "stream_auth_token": secret}, content_type="application/json")
    assert api.status_code == 202 and secret not in api.content.decode()
    assert json.loads(route.calls.last.request.content)["stream_auth_token"] == secret
    command = Command.objects.get()
    assert command.params["stream_auth_token"] == "********"
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/calls/{CC}/actions/streaming_start/", {"stream_auth_token": secret}, HTTP_HX_REQUEST="true")
    assert secret not in page.content.decode()
    for url in [f"/calls/{CC}/", f"/calls/{CC}/timeline/", f"/api/v1/calls/{CC}/", f"/api/v1/commands/{command.pk}/",
                f"/commands/{command.pk}/", "/commands/", "/api/v1/commands/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode(), url
    assert secret not in caplog.text


def test_api_timeline_shows_commands_with_secrets_masked(leg, supervisor, client, telnyx, django_capture_on_commit_callbacks):
    telnyx.post(f"/calls/{CC}/actions/streaming_start").respond(200, json=OK)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/streaming_start/", {"stream_auth_token": "zzz-secret"},
                    content_type="application/json")
    timeline = client.get(f"/api/v1/calls/{CC}/").json()["timeline"]
    assert [(i["kind"], i["title"], i["status"]) for i in timeline] == [("command", "call.streaming_start", "succeeded")]
    assert timeline[0]["params"] == {"stream_auth_token": "********"}


@pytest.mark.parametrize(
    "action, body, expected",
    [
        ("record_start", {"format": "wav", "channels": "single"}, {"recording_state": "recording"}),
        ("transcription_start", {"transcription_engine": "Google"}, {"transcribing": True}),
        ("suppression_start", {"direction": "inbound"}, {"noise_suppression": True}),
        ("switch_supervisor_role", {"role": "barge"}, {"supervisor_role": "barge"}),
        ("client_state_update", {"client_state": "bmV3"}, {"client_state": "bmV3"}),
    ],
)
def test_commands_telnyx_reports_by_no_webhook_are_mirrored(action, body, expected, leg, supervisor, client, telnyx,
                                                           django_capture_on_commit_callbacks):
    telnyx.route().respond(200, json=OK)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json")
    leg.refresh_from_db()
    assert {k: getattr(leg, k) for k in expected} == expected


def test_recording_pause_resume_stop_mirrored(leg, operator, client, telnyx, django_capture_on_commit_callbacks):
    telnyx.route().respond(200, json=OK)
    client.force_login(operator)
    states = []
    for action, body in [("record_start", {"format": "wav", "channels": "dual"}), ("record_pause", {}),
                         ("record_resume", {}), ("record_stop", {})]:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json")
        leg.refresh_from_db()
        states.append(leg.recording_state)
    assert states == ["recording", "paused", "recording", "idle"]
    assert leg.activity["recording"]["format"] == "wav"


def test_failed_command_changes_nothing_locally(leg, operator, client, telnyx, django_capture_on_commit_callbacks):
    telnyx.post(f"/calls/{CC}/actions/record_start").respond(
        422, json={"errors": [{"code": "90018", "title": "Call has already ended", "detail": "This call is no longer active."}]}
    )
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/calls/{CC}/actions/record_start/", {"format": "wav", "channels": "dual"},
                    content_type="application/json")
    leg.refresh_from_db()
    assert leg.recording_state == "idle"
    assert Command.objects.get().error_title == "Call has already ended"


@pytest.mark.parametrize("action, body", [
    ("streaming_start", {"stream_url": "wss://elsewhere.example/s"}),
    ("fork_start", {"rx": "udp:203.0.113.9:4000", "tx": "udp:203.0.113.9:4001", "stream_type": "decrypted"}),
])
def test_sending_a_calls_audio_anywhere_is_listening(action, body, leg, operator, supervisor, client, telnyx,
                                                    django_capture_on_commit_callbacks):
    """Streaming and forking need the Supervisor's permission at every door, like whisper and barge (issue 24)."""
    route = telnyx.post(f"/calls/{CC}/actions/{action}").respond(200, json=OK)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        api = client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json")
        page = client.post(f"/calls/{CC}/actions/{action}/", body, HTTP_HX_REQUEST="true")
    assert api.status_code == 403 and page.status_code == 403
    assert route.call_count == 0 and not Command.objects.exists()
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json").status_code == 202
    assert route.call_count == 1


@pytest.mark.parametrize("action, body, field, allowed", [
    ("streaming_start", {"stream_url": "wss://evil.example/s"}, "stream_url", False),
    ("streaming_start", {"stream_url": "wss://media.example.com/in"}, "stream_url", True),
    ("streaming_start", {"stream_url": "wss://rec.example.org/calls/1"}, "stream_url", True),
    ("streaming_start", {"stream_url": "wss://rec.example.org/other"}, "stream_url", False),
    ("fork_start", {"rx": "udp:10.1.1.1:4000", "tx": "udp:203.0.113.9:4001", "stream_type": "decrypted"}, "tx", False),
    ("fork_start", {"rx": "udp:10.1.1.1:4000", "tx": "udp:10.1.1.1:4001", "stream_type": "decrypted"}, "tx", True),
])
def test_media_destinations_allow_list(action, body, field, allowed, leg, supervisor, client, telnyx, settings,
                                       django_capture_on_commit_callbacks):
    settings.MEDIA_DESTINATIONS_ALLOWED = ["media.example.com", "wss://rec.example.org/calls/", "10.1.1.1"]
    route = telnyx.post(f"/calls/{CC}/actions/{action}").respond(200, json=OK)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/calls/{CC}/actions/{action}/", body, content_type="application/json")
    if allowed:
        assert response.status_code == 202 and route.call_count == 1
    else:
        assert response.status_code == 400
        assert "allowed media destination" in str(response.json()["extra"]["fields"][field])
        assert route.call_count == 0
