"""The sandbox over HTTP with the real SDK: validation, world consequences, signatures, faults, determinism."""
import json

import httpx
import pytest
import telnyx

from sandbox import spec
from sandbox.traffic import Traffic
from sandbox.webhooks import DOCUMENTED_FIELDS
from sandbox.world import World

ENDPOINTS = spec.load()


def test_every_endpoint_in_scope_is_served():
    from sandbox.app import HANDLERS

    assert len(ENDPOINTS) == 65  # the seeds' 60, calls.retrieve_status (issue 29), dial/hangup/transfer/bridge (issue 28)
    assert {e.name for e in ENDPOINTS} == set(HANDLERS)


def concrete(path: str) -> str:
    return path.replace("{", "").replace("}", "")


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.required], ids=lambda e: e.name)
def test_missing_required_parameters_get_422_with_pointers(sandbox, endpoint):
    response = httpx.request(endpoint.method, f"{sandbox.server.url}/v2{concrete(endpoint.path)}", json={},
                             headers={"Authorization": "Bearer k"})
    assert response.status_code == 422
    pointers = {e["source"]["pointer"] for e in response.json()["errors"]}
    assert pointers == {f"/{name}" for name in endpoint.required}


ENUM_CASES = [(e, p) for e in ENDPOINTS if e.method != "GET" for p in e.params.values() if p.kind == "enum"]


@pytest.mark.parametrize("endpoint, param", ENUM_CASES, ids=lambda x: getattr(x, "name", None))
def test_invalid_enum_values_get_422(sandbox, endpoint, param):
    response = httpx.request(endpoint.method, f"{sandbox.server.url}/v2{concrete(endpoint.path)}",
                             json={param.name: "not-a-choice"}, headers={"Authorization": "Bearer k"})
    assert response.status_code == 422
    bad = [e for e in response.json()["errors"] if e["source"]["pointer"] == f"/{param.name}"]
    assert bad and "invalid value" in bad[0]["detail"]


def test_undocumented_parameter_is_refused(sandbox):
    cc = sandbox.call()
    response = httpx.post(f"{sandbox.server.url}/v2/calls/{cc}/actions/speak", headers={"Authorization": "Bearer k"},
                          json={"payload": "hi", "voice": "female", "volume": 11})
    assert response.status_code == 422 and response.json()["errors"][0]["source"]["pointer"] == "/volume"


def test_no_api_key_is_401(sandbox):
    assert httpx.get(f"{sandbox.server.url}/v2/queues").status_code == 401


def test_unknown_resources_are_404_through_the_sdk(sandbox):
    for call in (lambda: sandbox.client.conferences.retrieve("nope"), lambda: sandbox.client.queues.retrieve("nope"),
                 lambda: sandbox.client.calls.actions.speak("v3:nope", payload="x", voice="female")):
        with pytest.raises(telnyx.NotFoundError):
            call()


def test_webhooks_are_signed_as_telnyx_signs_them(sandbox):
    sandbox.call()
    deliveries = sandbox.receiver.events(wait_for=2) and sandbox.receiver.deliveries
    for delivery in deliveries:
        event = sandbox.client.webhooks.unwrap(delivery["body"].decode(), headers=delivery["headers"])
        assert event is not None
    tampered = deliveries[0]["body"].replace(b"call.", b"cell.")
    with pytest.raises(ValueError, match="signature does not match"):
        sandbox.client.webhooks.unwrap(tampered.decode(), headers=deliveries[0]["headers"])


def assert_documented(event: dict):
    fields = set(DOCUMENTED_FIELDS[event["event_type"]])
    assert set(event["payload"]) <= fields, event["event_type"]
    assert event["id"] and event["occurred_at"] and event["record_type"] == "event"


def test_conference_lifecycle_consequences(sandbox):
    host, guest = sandbox.call(), sandbox.call()
    conference = sandbox.client.conferences.create(call_control_id=host, name="Ops")
    cid = conference.data.id
    sandbox.client.conferences.actions.join(cid, call_control_id=guest, mute=True, command_id="c-1")
    sandbox.client.conferences.actions.join(cid, call_control_id=guest, mute=True, command_id="c-1")  # repeat: ignored
    participants = sandbox.client.conferences.list_participants(cid)
    assert {p.call_control_id: p.muted for p in participants} == {host: False, guest: True}
    sandbox.client.conferences.actions.record_start(cid, format="mp3")
    sandbox.client.conferences.actions.speak(cid, payload="Hello", voice="female")
    sandbox.client.conferences.actions.play(cid, audio_url="https://example.com/a.mp3", call_control_ids=[guest])
    sandbox.client.conferences.actions.record_stop(cid)
    sandbox.client.conferences.actions.leave(cid, call_control_id=guest)
    sandbox.client.conferences.actions.end_conference(cid)
    events = sandbox.receiver.events(wait_for=15)
    types = [e["event_type"] for e in events]
    conference_types = [t for t in types if t.startswith("conference.")]
    assert conference_types.count("conference.participant.joined") == 2
    for expected in ["conference.created", "conference.speak.started", "conference.speak.ended",
                     "conference.participant.playback.started", "conference.participant.playback.ended",
                     "conference.recording.saved", "conference.participant.left", "conference.ended"]:
        assert expected in types, expected
    for event in events:
        assert_documented(event)
    saved = next(e for e in events if e["event_type"] == "conference.recording.saved")["payload"]
    audio = httpx.get(saved["recording_urls"]["mp3"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert sandbox.client.conferences.retrieve(cid).data.status == "completed"


@pytest.mark.parametrize(
    "method, kwargs, expected",
    [
        ("speak", {"payload": "Hi", "voice": "female"}, ["call.speak.started", "call.speak.ended"]),
        ("start_playback", {"audio_url": "https://e.com/a.mp3"}, ["call.playback.started", "call.playback.ended"]),
        ("start_transcription", {}, ["call.transcription", "call.transcription"]),
        ("start_forking", {"rx": "udp:1.2.3.4:5000"}, ["call.fork.started"]),
        ("start_streaming", {"stream_url": "wss://e.com/s"}, ["streaming.started"]),
        ("start_siprec", {"connector_name": "rec"}, ["siprec.started"]),
        ("enqueue", {"queue_name": "support"}, ["call.enqueued"]),
    ],
)
def test_call_commands_have_their_webhooks(sandbox, method, kwargs, expected):
    cc = sandbox.call()
    sandbox.receiver.events(wait_for=2)
    getattr(sandbox.client.calls.actions, method)(cc, **kwargs)
    events = sandbox.receiver.events(wait_for=2 + len(expected))[2:]
    assert [e["event_type"] for e in events] == expected
    for event in events:
        assert_documented(event)
        assert event["payload"]["call_control_id"] == cc


def test_queue_management(sandbox):
    sandbox.client.queues.create(queue_name="vip", max_size=2)
    a, b = sandbox.call(queue="vip"), sandbox.call(queue="vip")
    with pytest.raises(telnyx.UnprocessableEntityError) as full:
        sandbox.client.calls.actions.enqueue(sandbox.call(), queue_name="vip")
    assert "full" in full.value.body["errors"][0]["detail"]
    waiting = list(sandbox.client.queues.calls.list("vip"))
    assert [(c.call_control_id, c.queue_position) for c in waiting] == [(a, 1), (b, 2)]
    sandbox.client.queues.calls.remove(a, queue_name="vip")
    assert sandbox.client.queues.retrieve("vip").data.current_size == 1
    dequeued = [e for e in sandbox.receiver.events(wait_for=9) if e["event_type"] == "call.dequeued"]
    assert dequeued[0]["payload"]["reason"] == "leave"  # one of Telnyx's five reasons


def test_keep_after_hangup_keeps_a_dead_call_in_line_until_removed(sandbox):
    kept = sandbox.call()
    sandbox.client.calls.actions.enqueue(kept, queue_name="kept", keep_after_hangup=True)
    sandbox.world.call_hangup(kept)
    [listed] = list(sandbox.client.queues.calls.list("kept"))
    assert (listed.call_control_id, listed.is_alive) == (kept, False)
    sandbox.client.queues.calls.remove(kept, queue_name="kept")
    assert list(sandbox.client.queues.calls.list("kept")) == []
    dequeued = [e for e in sandbox.receiver.events(wait_for=6) if e["event_type"] == "call.dequeued"]
    assert [(e["payload"]["call_control_id"], e["payload"]["reason"]) for e in dequeued] == [(kept, "hangup")]


def test_recordings_api(sandbox):
    cc = sandbox.call()
    sandbox.client.calls.actions.start_recording(cc, channels="single", format="wav")
    sandbox.client.calls.actions.stop_recording(cc)
    recordings = [r for r in sandbox.client.recordings.list() if r.call_control_id == cc]
    assert len(recordings) == 1
    assert "call.recording.saved" in sandbox.receiver.types(wait_for=3)
    sandbox.client.recordings.delete(recordings[0].id)
    assert [r for r in sandbox.client.recordings.list() if r.call_control_id == cc] == []


def test_fault_injection_429_500_422_slow_and_drop(sandbox):
    faults = f"{sandbox.server.url}/_sandbox/faults"
    httpx.post(faults, json={"path": "^/queues$", "status": 429, "retry_after": 7})
    with pytest.raises(telnyx.RateLimitError) as limited:
        sandbox.client.queues.list()
    assert limited.value.response.headers["retry-after"] == "7"
    list(sandbox.client.queues.list())  # the fault was used up
    httpx.post(faults, json={"path": "^/queues$", "status": 500, "count": 2})
    for _ in range(2):
        with pytest.raises(telnyx.InternalServerError):
            sandbox.client.queues.list()
    httpx.post(faults, json={"path": "^/queues$", "status": 422, "detail": "Nope"})
    with pytest.raises(telnyx.UnprocessableEntityError):
        sandbox.client.queues.list()
    httpx.post(faults, json={"path": "^/queues$", "delay": 4})
    with pytest.raises(telnyx.APITimeoutError):
        sandbox.client.queues.list()
    httpx.post(faults, json={"path": "^/queues$", "drop": True})
    with pytest.raises(telnyx.APIConnectionError):
        sandbox.client.queues.list()
    assert httpx.post(faults, json={"path": "("}).status_code == 400


def test_duplicate_and_reordered_webhooks(sandbox):
    httpx.post(f"{sandbox.server.url}/_sandbox/webhooks", json={"duplicate": 1})
    sandbox.call()
    events = sandbox.receiver.events(wait_for=3)
    assert events[0]["id"] == events[1]["id"] and events[0]["event_type"] == "call.initiated"
    sandbox.receiver.deliveries.clear()
    httpx.post(f"{sandbox.server.url}/_sandbox/webhooks", json={"reorder": 1})
    sandbox.call()
    events = sandbox.receiver.events(wait_for=2)
    assert [e["event_type"] for e in events] == ["call.answered", "call.initiated"]
    assert events[0]["occurred_at"] > events[1]["occurred_at"]


def signature(emits):
    """What happened, with each id replaced by the order it first appeared in (ids differ from run to run)."""
    order = {}

    def named(value):
        return order.setdefault(value, len(order)) if value else None

    return [(e.event_type, named(e.payload.get("call_control_id")), named(e.payload.get("conference_id")),
             e.payload.get("queue")) for e in emits]


def ids_of(emits) -> set:
    keys = ("call_control_id", "call_leg_id", "call_session_id", "conference_id", "recording_id", "recording_transcription_id")
    return {e.payload[k] for e in emits for k in keys if e.payload.get(k)}


def test_traffic_is_deterministic_with_a_seed():
    first = Traffic(World(seed=11), rate_per_minute=30, seed=11).fast_forward(12)
    second = Traffic(World(seed=11), rate_per_minute=30, seed=11).fast_forward(12)
    other = Traffic(World(seed=12), rate_per_minute=30, seed=12).fast_forward(12)
    assert signature(first) == signature(second)
    assert signature(first) != signature(other)
    # The same seed repeats the traffic, never the ids: a second run's ids are all new (issue 29).
    assert ids_of(first) and not ids_of(first) & ids_of(second)
    types = {e.event_type for e in first}
    assert {"call.initiated", "call.enqueued", "call.dequeued", "conference.created", "conference.participant.joined",
            "conference.floor.changed", "conference.recording.saved", "conference.ended", "call.hangup"} <= types


def test_traffic_runs_live_and_emits_documented_events():
    import asyncio

    from nacl.signing import SigningKey

    from sandbox.webhooks import Dispatcher

    async def run_briefly():
        world = World(seed=4)
        dispatcher = Dispatcher(world, SigningKey.generate(), url=None, pace=0.01)
        traffic = Traffic(world, dispatcher, rate_per_minute=600, seed=4)
        tasks = [asyncio.create_task(dispatcher.run()), asyncio.create_task(traffic.run())]
        await asyncio.sleep(1.5)
        for task in tasks:
            task.cancel()
        async with asyncio.timeout(5):  # a task that ignores cancellation fails the test instead of hanging it
            await asyncio.gather(*tasks, return_exceptions=True)
        await dispatcher.client.aclose()
        return list(dispatcher.sent), world.snapshot()

    sent, snapshot = asyncio.run(run_briefly())
    types = {event_type for event_type, _, _ in sent}
    assert {"call.initiated", "call.answered"} <= types and types <= set(DOCUMENTED_FIELDS)
    assert len(sent) > 20


def test_bad_json_body_is_422(sandbox):
    cc = sandbox.call()
    response = httpx.post(f"{sandbox.server.url}/v2/calls/{cc}/actions/speak", content=b"{oops",
                          headers={"Authorization": "Bearer k", "content-type": "application/json"})
    assert response.status_code == 422
    assert json.loads(response.content)["errors"][0]["title"] == "Invalid parameter"


def test_call_status_is_alive_then_ended_then_forgotten(sandbox):
    cc = sandbox.call()
    live = sandbox.client.calls.retrieve_status(cc).data
    assert (live.call_control_id, live.is_alive, live.end_time) == (cc, True, None)
    httpx.post(f"{sandbox.server.url}/_sandbox/calls/{cc}/hangup")
    ended = sandbox.client.calls.retrieve_status(cc).data
    assert ended.is_alive is False and ended.end_time
    # Telnyx keeps an ended leg's status for 10 minutes, then answers 404 as for a leg it never had.
    sandbox.world.calls[cc]["end_time"] = "2020-01-01T00:00:00Z"
    with pytest.raises(telnyx.NotFoundError):
        sandbox.client.calls.retrieve_status(cc)
    with pytest.raises(telnyx.NotFoundError):
        sandbox.client.calls.retrieve_status("v3:never-seen")
