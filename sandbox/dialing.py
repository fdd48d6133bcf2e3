"""Call control in the sandbox (issue 28): dial, hang up, transfer and bridge, with coherent legs and webhooks.

A dialed leg rings (call.initiated, direction outgoing) and is answered RING_SECONDS later, unless a
fault set through POST /_sandbox/dial_outcomes says the destination does not answer or is busy: then it
ends with Telnyx's hangup cause (timeout, user_busy, call_rejected). Once answered it joins the
conference its conference_config names, or supervises the call it was dialed for, with its role.
"""
from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.registry import OK, handles
from sandbox.wire import Emit, Unprocessable, stamp
from sandbox.world import World

RING_SECONDS = 1.0
# How a destination that does not answer ends, as Telnyx reports it in call.hangup.
NOT_ANSWERED = {"no_answer": "timeout", "busy": "user_busy", "reject": "call_rejected"}
OUTCOMES = {"answer", *NOT_ANSWERED}


def outcomes(world: World) -> dict[str, str]:
    """Destination -> how it answers (faults set by tests or by hand); anything else answers."""
    return world.__dict__.setdefault("dial_outcomes", {})


def later(emits: list[Emit], seconds: float) -> list[Emit]:
    return [replace(emit, delay=emit.delay + seconds) for emit in emits]


def new_leg(world: World, *, from_number: str, to_number: str, client_state: str | None, session: str | None = None) -> dict:
    """An outgoing leg, ringing."""
    call_control_id = world.new_call_control_id()
    call = {
        "call_control_id": call_control_id, "call_leg_id": world.new_id(), "call_session_id": session or world.new_id(),
        "from": from_number, "to": to_number, "direction": "outgoing", "state": "bridging", "client_state": client_state,
        "start_time": stamp(), "queue": None, "conference": None, "recording": None,
    }
    world.calls[call_control_id] = call
    return call


def ring(world: World, call: dict, timeout_secs: int | None = None) -> tuple[bool, list[Emit]]:
    """call.initiated now, then call.answered, or call.hangup with the cause a fault chose."""
    initiated = Emit("call.initiated", world.call_payload(call, direction="outgoing", state="bridging",
                                                          start_time=call["start_time"]), 0.05)
    outcome = outcomes(world).get(call["to"], "answer")
    if outcome == "answer":
        call["state"] = "answered"
        return True, [initiated, Emit("call.answered", world.call_payload(call, state="answered",
                                                                          start_time=call["start_time"]), RING_SECONDS)]
    call["state"] = "hangup"
    waited = min(timeout_secs or 30, 5) if outcome == "no_answer" else RING_SECONDS / 2
    return False, [initiated, Emit("call.hangup", world.call_payload(
        call, hangup_cause=NOT_ANSWERED[outcome], hangup_source="callee", state="hangup", start_time=call["start_time"],
    ), waited)]


def _destination(body: dict) -> str:
    to = body.get("to")
    return to[0] if isinstance(to, list) and to else str(to or "")


@handles("calls.dial")
def dial(world: World, p, body, query):
    supervised = body.get("supervise_call_control_id")
    if supervised:
        world.call(supervised)  # 404 / 422 as Telnyx: only a live call can be supervised
    config = body.get("conference_config") or {}
    conference_id = config.get("id") or next(
        (c["id"] for c in world.conferences.values() if config.get("conference_name") and c["name"] == config["conference_name"]),
        None,
    )
    if config and conference_id is None:
        raise Unprocessable("conference_config", "Conference not found")
    if conference_id and world.conference(conference_id)["status"] == "completed":
        raise Unprocessable("conference_config", "Conference has already ended")
    call = new_leg(world, from_number=body["from"], to_number=_destination(body), client_state=body.get("client_state"))
    answered, emits = ring(world, call, body.get("timeout_secs"))
    if answered and supervised:
        call["supervising"], call["supervisor_role"] = supervised, body.get("supervisor_role", "barge")
    if answered and conference_id:
        joined = world.participant_join(conference_id, {**config, "call_control_id": call["call_control_id"]})
        emits += later(joined, RING_SECONDS)
    data = {key: call[key] for key in ("call_control_id", "call_leg_id", "call_session_id", "client_state", "start_time")}
    return 200, {"data": {**data, "record_type": "call", "is_alive": False}}, emits


@handles("calls.actions.hangup")
def hangup(world: World, p, body, query):
    call = world.call(p["call_control_id"])
    if body.get("client_state"):
        call["client_state"] = body["client_state"]
    return 200, {"data": OK}, world.call_hangup(call["call_control_id"])


@handles("calls.actions.bridge")
def bridge(world: World, p, body, query):
    first = world.call(p["call_control_id_to_bridge"])
    second = world.call(body["call_control_id"])
    if first is second:
        raise Unprocessable("call_control_id", "A call cannot be bridged with itself")
    if body.get("prevent_double_bridge") and second.get("bridged_with"):
        raise Unprocessable("call_control_id", "Call is already bridged")
    first["bridged_with"], second["bridged_with"] = second["call_control_id"], first["call_control_id"]
    return 200, {"data": OK}, world.call_bridge(first["call_control_id"]) + world.call_bridge(second["call_control_id"])


@handles("calls.actions.transfer")
def transfer(world: World, p, body, query):
    """The original bridge ends (its other leg hangs up), a new leg rings `to`; answered, both are bridged."""
    call = world.call(p["call_control_id"])
    emits = []
    partner = world.calls.get(call.get("bridged_with") or "")
    call["bridged_with"] = None
    if partner is not None:
        partner["bridged_with"] = None
        emits += world.call_hangup(partner["call_control_id"])
    new = new_leg(world, from_number=body.get("from") or call["to"], to_number=body["to"],
                  client_state=body.get("target_leg_client_state"), session=call["call_session_id"])
    answered, rang = ring(world, new, body.get("timeout_secs"))
    emits += rang
    if answered:
        call["bridged_with"], new["bridged_with"] = new["call_control_id"], call["call_control_id"]
        emits += later(world.call_bridge(call["call_control_id"]) + world.call_bridge(new["call_control_id"]),
                       RING_SECONDS + 0.1)
    return 200, {"data": OK}, emits


@handles("calls.actions.switch_supervisor_role")
def switch_supervisor_role(world: World, p, body, query):
    call = world.call(p["call_control_id"])
    call["supervisor_role"] = body["role"]
    return 200, {"data": OK}, []


def dial_outcomes_endpoint(world: World):
    """POST /_sandbox/dial_outcomes {"to": ..., "outcome": answer|no_answer|busy|reject}; DELETE clears them."""

    async def endpoint(request: Request):
        if request.method == "DELETE":
            outcomes(world).clear()
            return JSONResponse({})
        options = await request.json()
        if options.get("outcome") not in OUTCOMES or not options.get("to"):
            return JSONResponse({"message": f"Give a destination and one of {sorted(OUTCOMES)}."}, status_code=400)
        with world.lock:
            outcomes(world)[options["to"]] = options["outcome"]
        return JSONResponse(outcomes(world), status_code=201)

    return endpoint

