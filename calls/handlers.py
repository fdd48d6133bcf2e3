"""Call webhooks → the leg's state, what runs on it, what it heard (events.md: lifecycle, advanced, media, streaming).

The recordings app keeps the recordings and transcriptions; the queues app the queue rows; the
conferencing app the participants. Here the same events only update the call itself.
"""
from calls import links, services
from calls.batch import preload_bridged_sessions, preload_calls, preload_commanded_legs
from calls.models import Call
from webhooks.payloads import number, text, when

IDLE = Call.RecordingState.IDLE


def _lifecycle(state):
    def handler(event):
        p = event.payload
        if not p.get("call_control_id"):
            return
        details = {
            "call_leg_id": text(p, "call_leg_id"),
            "call_session_id": text(p, "call_session_id"),
            "connection_id": text(p, "connection_id"),
            "direction": text(p, "direction", 16),
            "from_number": text(p, "from", 64),
            "to_number": text(p, "to", 64),
            "started_at": when(p.get("start_time")) or (event.occurred_at if state == Call.State.INITIATED else None),
        }
        if state in (Call.State.ANSWERED, Call.State.BRIDGED):
            details["answered_at"] = event.occurred_at
        if state == Call.State.HANGUP:
            details["ended_at"] = event.occurred_at
            details["hangup_cause"] = text(p, "hangup_cause", 64)
            details["hangup_source"] = text(p, "hangup_source", 32)
        client_state = text(p, "client_state", 10_000)
        call = services.call_record_state(
            call_control_id=text(p, "call_control_id"), state=state, occurred_at=event.occurred_at, details=details,
            client_state=client_state, event=event,
        )
        # A leg the portal dialed, or one just bridged: tie it to the call or conference it belongs with.
        links.call_lifecycle_seen(call=call, client_state=client_state, bridged=state == Call.State.BRIDGED)

    return handler


def _apply(feature, *, changes=None, details=(), merge=False, list_changed=True, create=True, only_if=None):
    """A handler applying `changes(payload)` (or a fixed dict) and the payload's `details` keys to `feature`."""

    def handler(event):
        p = event.payload
        fixed = changes(p) if callable(changes) else dict(changes or {})
        kept = {k: p[k] for k in details if p.get(k) not in (None, "")}
        services.call_event_applied(
            event=event, feature=feature, changes=fixed, details=kept, merge_details=merge,
            only_if=only_if(p) if only_if else None, create=create, list_changed=list_changed,
        )

    return handler


def dtmf_received(event):
    digit = text(event.payload, "digit", 4)
    if digit:
        services.call_dtmf_received(event=event, digit=digit)


def transcription(event):
    data = event.payload.get("transcription_data") or {}
    transcript = data.get("transcript")
    if isinstance(transcript, str) and transcript.strip():
        confidence = data.get("confidence")
        services.call_transcript_add(
            event=event, text=transcript, is_final=data.get("is_final") is not False,
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            track=data.get("transcription_track") or "",
        )


def insights(event):
    p = event.payload
    results = p.get("results") if isinstance(p.get("results"), list) else []
    services.call_insights_add(event=event, insight_group_id=text(p, "insight_group_id"), results=results)


def _refer(status):
    return _apply("refer", changes=lambda p: {"refer_status": status, "refer_sip_response": number(p, "sip_notify_response")})


def _machine(field, premium):
    return _apply(field, changes=lambda p: {field: text(p, "result", 32), "machine_detection_premium": premium},
                  list_changed=False)


CONVERSATION_KEYS = (
    "conversation_id", "assistant_id", "reason", "duration_sec", "calling_party_type", "llm_model", "stt_model",
    "tts_provider", "tts_model_id", "tts_voice_id",
)

HANDLERS = {
    # lifecycle
    "call.initiated": _lifecycle(Call.State.INITIATED),
    "call.answered": _lifecycle(Call.State.ANSWERED),
    "call.bridged": _lifecycle(Call.State.BRIDGED),
    "call.hangup": _lifecycle(Call.State.HANGUP),
    # advanced
    "call.dtmf.received": dtmf_received,
    "call.machine.detection.ended": _machine("machine_detection", False),
    "call.machine.premium.detection.ended": _machine("machine_detection", True),
    "call.machine.greeting.ended": _machine("machine_greeting", False),
    "call.machine.premium.greeting.ended": _machine("machine_greeting", True),
    "call.refer.started": _refer("started"),
    "call.refer.completed": _refer("completed"),
    "call.refer.failed": _refer("failed"),
    "siprec.started": _apply("siprec", changes={"siprec": True}),
    "siprec.stopped": _apply("siprec", changes={"siprec": False}, details=("hangup_cause",), merge=True),
    "siprec.failed": _apply("siprec", changes={"siprec": False}, details=("failure_cause",), merge=True),
    "call.conversation.ended": _apply(
        "conversation", changes=lambda p: {"conversation": {k: p[k] for k in CONVERSATION_KEYS if k in p}},
        list_changed=False,
    ),
    "call.conversation_insights.generated": insights,
    # media
    "call.playback.started": _apply("playback", changes={"playing": True}, details=("media_name", "media_url", "overlay")),
    "call.playback.ended": _apply(
        "playback", changes={"playing": False}, details=("media_name", "media_url", "status", "status_detail"), merge=True,
    ),
    "call.speak.started": _apply("speak", changes={"speaking": True}),
    "call.speak.ended": _apply("speak", changes={"speaking": False}, details=("status",), merge=True),
    # The recordings app keeps the recording; the call only stops showing it as running.
    "call.recording.saved": _apply(
        "recording", changes={"recording_state": IDLE}, details=("recording_started_at", "recording_ended_at"), merge=True,
        create=False,
    ),
    "call.recording.error": _apply(
        "recording", changes=lambda p: {"recording_state": IDLE, "recording_error": text(p, "reason")},
        details=("reason",), merge=True,
    ),
    "call.recording.transcription.saved": _apply(
        "recording_transcription", details=("recording_id", "recording_transcription_id", "status"), list_changed=False,
    ),
    # streaming
    "call.fork.started": _apply("fork", changes={"forking": True}, details=("stream_type",)),
    "call.fork.stopped": _apply("fork", changes={"forking": False}, details=("stream_type",), merge=True),
    "streaming.started": _apply("streaming", changes={"streaming": True}, details=("stream_url",)),
    "streaming.stopped": _apply("streaming", changes={"streaming": False}, merge=True),
    "streaming.failed": _apply(
        "streaming", changes={"streaming": False}, details=("failure_reason", "stream_id", "stream_type"), merge=True,
    ),
    "call.transcription": transcription,
    # where the call is: queues and conferences keep their own rows, the call keeps plain names
    "call.enqueued": _apply(
        "queue", changes=lambda p: {"queue_name": text(p, "queue")}, details=("queue", "current_position", "queue_avg_wait_time_secs"),
    ),
    "call.dequeued": _apply(
        "queue", changes={"queue_name": ""}, details=("reason", "wait_time_secs"), merge=True,
        only_if=lambda p: {"queue_name": ("", text(p, "queue"))},
    ),
    "conference.participant.joined": _apply(
        "conference", changes=lambda p: {"conference_id": text(p, "conference_id")}, details=("conference_id",),
        create=False,
    ),
    "conference.participant.left": _apply(
        "conference", changes={"conference_id": ""}, create=False, merge=True,
        only_if=lambda p: {"conference_id": ("", text(p, "conference_id"))},
    ),
}


# The legs a batch names, and which of them a bridge or enqueue command names: one query each (issue 25).
BATCH_PRELOADS = [preload_calls, preload_bridged_sessions, preload_commanded_legs]
