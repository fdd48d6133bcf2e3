"""What each of the 61 endpoints does to the world, and the webhooks it causes."""
from __future__ import annotations

from sandbox.registry import HANDLERS, OK, handles
from sandbox.wire import Emit, NotFound, Unprocessable, stamp
from sandbox.world import World


def page(items: list, query: dict) -> dict:
    """Telnyx's paginated list shape, honouring page[number] and page[size]."""
    number = max(1, int(query.get("page[number]", query.get("page_number", 1)) or 1))
    size = max(1, min(250, int(query.get("page[size]", query.get("page_size", 20)) or 20)))
    total_pages = max(1, -(-len(items) // size))
    chunk = items[(number - 1) * size: number * size]
    return {"data": chunk, "meta": {"page_number": number, "page_size": size, "total_pages": total_pages, "total_results": len(items)}}


def filters(query: dict) -> dict:
    return {k[len("filter["):-1]: v for k, v in query.items() if k.startswith("filter[") and k.endswith("]")}


# --- conferences ---------------------------------------------------------------
@handles("conferences.list")
def conferences_list(world: World, p, body, query):
    wanted = filters(query)
    items = [world.conference_public(c) for c in world.conferences.values()
             if ("status" not in wanted or c["status"] == wanted["status"]) and ("name" not in wanted or c["name"] == wanted["name"])]
    return 200, page(items, query), []


@handles("conferences.create")
def conferences_create(world, p, body, query):
    data, emits = world.conference_create(body)
    return 200, {"data": data}, emits


@handles("conferences.retrieve")
def conferences_retrieve(world, p, body, query):
    return 200, {"data": world.conference_public(world.conference(p["id"]))}, []


@handles("conferences.list_participants")
def conferences_list_participants(world, p, body, query):
    conference = world.conference(p["conference_id"])
    wanted = filters(query)
    items = [x for x in conference["participants"].values()
             if all(str(x.get(k)).lower() == str(v).lower() for k, v in wanted.items() if k in ("muted", "on_hold"))]
    return 200, page(items, query), []


def _participant(world, conference_id, participant_id):
    participant = world.conference(conference_id)["participants"].get(participant_id)
    if participant is None:
        raise NotFound("Participant", participant_id)
    return participant


@handles("conferences.retrieve_participant")
def conferences_retrieve_participant(world, p, body, query):
    return 200, {"data": _participant(world, p["id"], p["participant_id"])}, []


@handles("conferences.update_participant")
def conferences_update_participant(world, p, body, query):
    participant = _participant(world, p["id"], p["participant_id"])
    participant.update({k: v for k, v in body.items() if k != "beep_enabled"}, updated_at=stamp())
    return 200, {"data": participant}, []


@handles("conferences.actions.end_conference")
def conference_end(world, p, body, query):
    return 200, {"data": OK}, world.conference_end(p["id"])


@handles("conferences.actions.gather_dtmf_audio")
def conference_gather(world, p, body, query):
    conference = world.conference(p["id"])
    if body["call_control_id"] not in conference["participants"]:
        raise Unprocessable("call_control_id", "Call is not a participant of this conference")
    call = world.call(body["call_control_id"])
    digit = str(world.rng.randint(0, 9))
    return 200, {"data": OK}, [Emit("call.dtmf.received", world.call_payload(call, digit=digit), 1.5)]


def _set_participants(**changes):
    """hold / unhold / mute / unmute: state only, Telnyx sends no webhook for them."""
    def handler(world, p, body, query):
        world.participants_set(p["id"], body.get("call_control_ids"), **changes)
        return 200, {"data": OK}, []

    return handler


HANDLERS.update({
    "conferences.actions.hold": _set_participants(on_hold=True),
    "conferences.actions.unhold": _set_participants(on_hold=False),
    "conferences.actions.mute": _set_participants(muted=True),
    "conferences.actions.unmute": _set_participants(muted=False),
})


@handles("conferences.actions.join")
def conference_join(world, p, body, query):
    return 200, {"data": OK}, world.participant_join(p["id"], body)


@handles("conferences.actions.leave")
def conference_leave(world, p, body, query):
    return 200, {"data": OK}, world.participant_leave(p["id"], body["call_control_id"])


@handles("conferences.actions.play")
def conference_play(world, p, body, query):
    if not body.get("audio_url") and not body.get("media_name"):
        raise Unprocessable("audio_url", "Either audio_url or media_name must be given", code="10032")
    return 200, {"data": OK}, world.conference_media(p["id"], "playback", body)


@handles("conferences.actions.speak")
def conference_speak(world, p, body, query):
    return 200, {"data": OK}, world.conference_media(p["id"], "speak", body)


@handles("conferences.actions.stop")
def conference_stop(world, p, body, query):
    world.conference(p["id"])
    return 200, {"data": OK}, []


@handles("conferences.actions.send_dtmf")
def conference_send_dtmf(world, p, body, query):
    world.conference(p["id"])
    return 200, {"data": OK}, []


@handles("conferences.actions.record_start")
def conference_record_start(world, p, body, query):
    return 200, {"data": OK}, world.conference_record_start(p["id"], body)


@handles("conferences.actions.record_stop")
def conference_record_stop(world, p, body, query):
    return 200, {"data": OK}, world.conference_record_stop(p["id"])


@handles("conferences.actions.record_pause", "conferences.actions.record_resume")
def conference_record_pause_resume(world, p, body, query):
    state = world.conference(p["id"])["recording_state"]
    if not state:
        raise Unprocessable("id", "Conference is not being recorded")
    return 200, {"data": OK}, []


@handles("conferences.actions.update")
def conference_update(world, p, body, query):
    _participant(world, p["id"], body["call_control_id"]).update(
        supervisor_role=body["supervisor_role"], whisper_call_control_ids=body.get("whisper_call_control_ids", []), updated_at=stamp()
    )
    return 200, {"data": OK}, []


# --- queues --------------------------------------------------------------------
@handles("calls.actions.enqueue")
def call_enqueue(world, p, body, query):
    return 200, {"data": OK}, world.enqueue(p["call_control_id"], body)


@handles("calls.actions.leave_queue")
def call_leave_queue(world, p, body, query):
    call = world.call(p["call_control_id"])
    if not call["queue"]:
        raise Unprocessable("call_control_id", "Call is not in a queue")
    return 200, {"data": OK}, world.dequeue(call, reason="leave")


@handles("queues.list")
def queues_list(world, p, body, query):
    return 200, page([world.queue_public(q) for q in world.queues.values()], query), []


@handles("queues.create")
def queues_create(world, p, body, query):
    return 200, {"data": world.queue_create(body["queue_name"], body.get("max_size", 100))}, []


@handles("queues.retrieve")
def queues_retrieve(world, p, body, query):
    return 200, {"data": world.queue_public(world.queue(p["queue_name"]))}, []


@handles("queues.update")
def queues_update(world, p, body, query):
    queue = world.queue(p["queue_name"])
    if body["max_size"] < len(queue["calls"]):
        raise Unprocessable("max_size", "max_size cannot be smaller than the number of calls waiting")
    queue.update(max_size=body["max_size"], updated_at=stamp())
    return 200, {"data": world.queue_public(queue)}, []


@handles("queues.delete")
def queues_delete(world, p, body, query):
    queue = world.queue(p["queue_name"])
    if queue["calls"]:
        raise Unprocessable("queue_name", "Queue still has calls waiting")
    del world.queues[p["queue_name"]]
    return 204, None, []


@handles("queues.calls.list")
def queue_calls_list(world, p, body, query):
    queue = world.queue(p["queue_name"])
    return 200, page([world.queue_call_public(queue, world.calls[c]) for c in queue["calls"]], query), []


def _queued(world, p):
    queue = world.queue(p["queue_name"])
    if p["call_control_id"] not in queue["calls"]:
        raise NotFound("Queued call", p["call_control_id"])
    return queue, world.calls[p["call_control_id"]]


@handles("queues.calls.retrieve")
def queue_calls_retrieve(world, p, body, query):
    queue, call = _queued(world, p)
    return 200, {"data": world.queue_call_public(queue, call)}, []


@handles("queues.calls.update")
def queue_calls_update(world, p, body, query):
    queue, call = _queued(world, p)
    if "keep_after_hangup" in body:
        call["keep_after_hangup"] = body["keep_after_hangup"]
    return 200, None, []


@handles("queues.calls.remove")
def queue_calls_remove(world, p, body, query):
    queue, call = _queued(world, p)
    # call.dequeued's reason is one of Telnyx's five: a dead call hung up, a live one was taken out.
    return 204, None, world.dequeue(call, reason="hangup" if call["state"] == "hangup" else "leave")


# --- calls ---------------------------------------------------------------------
@handles("calls.retrieve_status")
def call_retrieve_status(world, p, body, query):
    return 200, {"data": world.call_status(p["call_control_id"])}, []


@handles("calls.actions.update_client_state")
def call_client_state(world, p, body, query):
    world.call(p["call_control_id"])["client_state"] = body["client_state"]
    return 200, {"data": OK}, []


@handles("calls.actions.send_dtmf", "calls.actions.start_noise_suppression", "calls.actions.stop_noise_suppression",
         "calls.actions.switch_supervisor_role", "calls.actions.stop_transcription")
def call_no_event(world, p, body, query):
    world.call(p["call_control_id"])
    return 200, {"data": OK}, []


def _call_events(*steps):
    """A call command answered by events: steps are (event_type, extra payload, delay)."""
    def handler(world, p, body, query):
        call = world.call(p["call_control_id"])
        return 200, {"data": OK}, [Emit(t, world.call_payload(call, **_fill(extra, body)), d) for t, extra, d in steps]

    return handler


def _fill(extra: dict, body: dict) -> dict:
    return {k: (body.get(v[1:]) if isinstance(v, str) and v.startswith("$") else v) for k, v in extra.items()}


HANDLERS.update({
    "calls.actions.start_siprec": _call_events(("siprec.started", {}, 0.3)),
    "calls.actions.stop_siprec": _call_events(("siprec.stopped", {"hangup_cause": "normal_clearing"}, 0.3)),
    "calls.actions.start_playback": _call_events(
        ("call.playback.started", {"media_url": "$audio_url", "media_name": "$media_name", "overlay": False}, 0.1),
        ("call.playback.ended", {"media_url": "$audio_url", "media_name": "$media_name", "overlay": False, "status": "completed"}, 2.0),
    ),
    "calls.actions.stop_playback": _call_events(("call.playback.ended", {"status": "call_hangup", "overlay": False}, 0.1)),
    "calls.actions.speak": _call_events(("call.speak.started", {}, 0.1), ("call.speak.ended", {"status": "completed"}, 2.0)),
    "calls.actions.start_forking": _call_events(("call.fork.started", {"stream_type": "decrypted"}, 0.2)),
    "calls.actions.stop_forking": _call_events(("call.fork.stopped", {"stream_type": "$stream_type"}, 0.2)),
    "calls.actions.start_streaming": _call_events(("streaming.started", {"stream_url": "$stream_url"}, 0.2)),
    "calls.actions.stop_streaming": _call_events(("streaming.stopped", {"stream_url": None}, 0.2)),
    "calls.actions.start_transcription": _call_events(
        ("call.transcription", {"transcription_data": {"transcript": "Hello, thanks for calling.", "is_final": True, "confidence": 0.93}}, 1.0),
        ("call.transcription", {"transcription_data": {"transcript": "How can I help you today?", "is_final": True, "confidence": 0.91}}, 2.5),
    ),
})


@handles("calls.actions.start_recording")
def call_record_start(world, p, body, query):
    call = world.call(p["call_control_id"])
    if call["recording"]:
        raise Unprocessable("call_control_id", "Call is already being recorded")
    call["recording"] = {"started_at": stamp(), "format": body["format"], "channels": body["channels"]}
    return 200, {"data": OK}, []


@handles("calls.actions.pause_recording", "calls.actions.resume_recording")
def call_record_pause_resume(world, p, body, query):
    if not world.call(p["call_control_id"])["recording"]:
        raise Unprocessable("call_control_id", "Call is not being recorded")
    return 200, {"data": OK}, []


@handles("calls.actions.stop_recording")
def call_record_stop(world, p, body, query):
    call = world.call(p["call_control_id"])
    state = call["recording"]
    if not state:
        raise Unprocessable("call_control_id", "Call is not being recorded")
    call["recording"] = None
    recording = world.recording_save(source="call", call=call, **state)
    return 200, {"data": OK}, [Emit("call.recording.saved", world.call_payload(
        call, channels=state["channels"], recording_started_at=recording["recording_started_at"],
        recording_ended_at=recording["recording_ended_at"], recording_urls=recording["download_urls"],
        public_recording_urls=recording["download_urls"]), 0.5)]


# --- recordings ----------------------------------------------------------------
@handles("recordings.list")
def recordings_list(world, p, body, query):
    wanted = filters(query)
    items = [r for r in world.recordings.values()
             if all(str(r.get(k.replace("call_leg_id", "call_leg_id"))) == v for k, v in wanted.items() if k in r)]
    listed = [world.recording_public(r) for r in sorted(items, key=lambda r: r["created_at"], reverse=True)]
    return 200, page(listed, query), []


@handles("recordings.retrieve")
def recordings_retrieve(world, p, body, query):
    recording = world.recordings.get(p["recording_id"])
    if recording is None:
        raise NotFound("Recording", p["recording_id"])
    return 200, {"data": world.recording_public(recording)}, []


@handles("recordings.delete")
def recordings_delete(world, p, body, query):
    if world.recordings.pop(p["recording_id"], None) is None:
        raise NotFound("Recording", p["recording_id"])
    return 200, {"data": {"id": p["recording_id"], "record_type": "recording", "status": "deleted"}}, []


@handles("recording_transcriptions.list")
def transcriptions_list(world, p, body, query):
    return 200, page(list(world.transcriptions.values()), query), []


@handles("recording_transcriptions.retrieve")
def transcriptions_retrieve(world, p, body, query):
    transcription = world.transcriptions.get(p["recording_transcription_id"])
    if transcription is None:
        raise NotFound("Recording transcription", p["recording_transcription_id"])
    return 200, {"data": transcription}, []


@handles("recording_transcriptions.delete")
def transcriptions_delete(world, p, body, query):
    transcription = world.transcriptions.pop(p["recording_transcription_id"], None)
    if transcription is None:
        raise NotFound("Recording transcription", p["recording_transcription_id"])
    return 200, {"data": transcription}, []
