"""The sandbox's call control (issue 28) over HTTP with the real SDK: dial, hang up, transfer, bridge and their webhooks."""
import base64

import httpx
import pytest
import telnyx


def payloads(sandbox, count):
    """The next `count` webhooks as (event_type, payload), in delivery order."""
    events = sandbox.receiver.events(wait_for=count)
    return [(e["event_type"], e["payload"]) for e in events]


@pytest.fixture
def outcome(sandbox):
    """Arm how a destination answers; cleared afterwards."""
    url = f"{sandbox.server.url}/_sandbox/dial_outcomes"
    yield lambda to, result: httpx.post(url, json={"to": to, "outcome": result}).raise_for_status()
    httpx.delete(url)


def test_dial_supervising_a_call_rings_then_answers_with_its_role(sandbox):
    agent = sandbox.call(**{"from": "+15550001111", "to": "+15550002222"})
    payloads(sandbox, 2)
    sandbox.receiver.deliveries.clear()
    marker = base64.b64encode(b"portal-dial:abc").decode()
    data = sandbox.client.calls.dial(connection_id="c1", from_="+15550000000", to="+15557770000",
                                     supervise_call_control_id=agent, supervisor_role="whisper", client_state=marker).data
    events = payloads(sandbox, 2)
    assert [t for t, _ in events] == ["call.initiated", "call.answered"]
    initiated = events[0][1]
    assert (initiated["call_control_id"], initiated["direction"], initiated["from"], initiated["to"], initiated["client_state"]) == (
        data.call_control_id, "outgoing", "+15550000000", "+15557770000", marker)
    leg = sandbox.world.calls[data.call_control_id]
    assert (leg["supervising"], leg["supervisor_role"]) == (agent, "whisper")
    sandbox.client.calls.actions.switch_supervisor_role(data.call_control_id, role="barge")
    assert leg["supervisor_role"] == "barge"

    # The supervised call ends: its supervisor leg ends with it.
    sandbox.receiver.deliveries.clear()
    sandbox.client.calls.actions.hangup(agent)
    ended = {p["call_control_id"]: p for t, p in payloads(sandbox, 2) if t == "call.hangup"}
    assert set(ended) == {agent, data.call_control_id}
    assert ended[agent]["hangup_cause"] == "normal_clearing" and ended[agent]["hangup_source"]


def test_dial_into_a_conference_joins_it_when_answered(sandbox):
    host = sandbox.call()
    conference = sandbox.client.conferences.create(call_control_id=host, name="Bridge room").data
    payloads(sandbox, 4)
    sandbox.receiver.deliveries.clear()
    data = sandbox.client.calls.dial(connection_id="c1", from_="+15550000000", to="+442071234567",
                                     conference_config={"id": conference.id, "mute": True, "supervisor_role": "monitor"}).data
    events = payloads(sandbox, 3)
    assert [t for t, _ in events] == ["call.initiated", "call.answered", "conference.participant.joined"]
    assert events[2][1]["call_control_id"] == data.call_control_id and events[2][1]["conference_id"] == conference.id
    participant = sandbox.world.conferences[conference.id]["participants"][data.call_control_id]
    assert (participant["muted"], participant["supervisor_role"]) == (True, "monitor")


@pytest.mark.parametrize("result, cause", [("no_answer", "timeout"), ("busy", "user_busy"), ("reject", "call_rejected")])
def test_a_dial_not_answered_ends_with_telnyx_cause(sandbox, outcome, result, cause):
    outcome("+15559990000", result)
    host = sandbox.call()
    conference = sandbox.client.conferences.create(call_control_id=host, name="Nobody home").data
    payloads(sandbox, 4)
    sandbox.receiver.deliveries.clear()
    data = sandbox.client.calls.dial(connection_id="c1", from_="+15550000000", to="+15559990000",
                                     conference_config={"id": conference.id}, timeout_secs=5).data
    events = payloads(sandbox, 2)
    assert [t for t, _ in events] == ["call.initiated", "call.hangup"]
    assert (events[1][1]["hangup_cause"], events[1][1]["hangup_source"]) == (cause, "callee")
    assert data.call_control_id not in sandbox.world.conferences[conference.id]["participants"]


def test_dial_refuses_an_ended_call_or_an_unknown_conference(sandbox):
    gone = sandbox.call()
    sandbox.client.calls.actions.hangup(gone)
    with pytest.raises(telnyx.UnprocessableEntityError):
        sandbox.client.calls.dial(connection_id="c1", from_="+1555", to="+1666", supervise_call_control_id=gone)
    with pytest.raises(telnyx.NotFoundError):
        sandbox.client.calls.dial(connection_id="c1", from_="+1555", to="+1666", conference_config={"id": "nope"})


def test_hangup_ends_a_leg_once(sandbox):
    leg = sandbox.call()
    payloads(sandbox, 2)
    sandbox.receiver.deliveries.clear()
    sandbox.client.calls.actions.hangup(leg, command_id="cmd-1")
    sandbox.client.calls.actions.hangup(leg, command_id="cmd-1")  # a retry: Telnyx drops the repeat
    assert [t for t, _ in payloads(sandbox, 1)] == ["call.hangup"]
    with pytest.raises(telnyx.UnprocessableEntityError):
        sandbox.client.calls.actions.hangup(leg, command_id="cmd-2")


def test_bridge_emits_bridged_for_both_legs(sandbox):
    first, second = sandbox.call(), sandbox.call()
    payloads(sandbox, 4)
    sandbox.receiver.deliveries.clear()
    sandbox.client.calls.actions.bridge(first, call_control_id_to_bridge_with=second)
    events = payloads(sandbox, 2)
    assert sorted((t, p["call_control_id"]) for t, p in events) == sorted([("call.bridged", first), ("call.bridged", second)])
    with pytest.raises(telnyx.UnprocessableEntityError):
        sandbox.client.calls.actions.bridge(first, call_control_id_to_bridge_with=first)


def test_transfer_ends_the_old_bridge_and_bridges_a_new_leg(sandbox):
    caller, agent = sandbox.call(), sandbox.call()
    sandbox.client.calls.actions.bridge(caller, call_control_id_to_bridge_with=agent)
    payloads(sandbox, 6)
    sandbox.receiver.deliveries.clear()
    sandbox.client.calls.actions.transfer(caller, to="+15558880000", from_="+15550000000")
    events = payloads(sandbox, 5)
    types = [(t, p["call_control_id"]) for t, p in events]
    assert ("call.hangup", agent) in types
    new = next(p for t, p in events if t == "call.initiated")
    assert (new["to"], new["from"], new["direction"]) == ("+15558880000", "+15550000000", "outgoing")
    assert new["call_session_id"] == sandbox.world.calls[caller]["call_session_id"]
    assert {("call.bridged", caller), ("call.bridged", new["call_control_id"])} <= set(types)
    assert sandbox.world.calls[caller]["state"] == "bridged"


def test_transfer_not_answered_leaves_the_caller_up(sandbox, outcome):
    outcome("+15558880001", "busy")
    caller = sandbox.call()
    payloads(sandbox, 2)
    sandbox.receiver.deliveries.clear()
    sandbox.client.calls.actions.transfer(caller, to="+15558880001")
    events = payloads(sandbox, 2)
    assert [t for t, _ in events] == ["call.initiated", "call.hangup"] and events[1][1]["hangup_cause"] == "user_busy"
    assert sandbox.world.calls[caller]["state"] != "hangup"
