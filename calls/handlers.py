"""Call lifecycle webhooks → call leg state."""
from calls.models import Call
from calls.services import call_record_state
from webhooks.payloads import text, when


def _apply(state):
    def handler(event):
        p = event.payload
        details = {
            "call_leg_id": text(p, "call_leg_id"),
            "call_session_id": text(p, "call_session_id"),
            "connection_id": text(p, "connection_id"),
            "direction": text(p, "direction", 16),
            "from_number": text(p, "from", 64),
            "to_number": text(p, "to", 64),
            "started_at": when(p.get("start_time")) or (event.occurred_at if state == Call.State.INITIATED else None),
        }
        if state == Call.State.ANSWERED:
            details["answered_at"] = event.occurred_at
        if state == Call.State.HANGUP:
            details["ended_at"] = event.occurred_at
            details["hangup_cause"] = text(p, "hangup_cause", 64)
        if p.get("call_control_id"):
            call_record_state(
                call_control_id=text(p, "call_control_id"), state=state, occurred_at=event.occurred_at, details=details
            )

    return handler


HANDLERS = {
    "call.initiated": _apply(Call.State.INITIATED),
    "call.answered": _apply(Call.State.ANSWERED),
    "call.bridged": _apply(Call.State.BRIDGED),
    "call.hangup": _apply(Call.State.HANGUP),
}
