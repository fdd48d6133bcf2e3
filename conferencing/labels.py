"""How people know a call leg (its label on a conference's roster and in pick lists): the caller or callee."""
from __future__ import annotations

from calls.batch import call_cached, call_surely_absent
from calls.models import Call


def leg_label(*, from_number: str, to_number: str, direction: str = "") -> str:
    """Who a call leg is, as people know them: the caller for incoming legs, the callee for outgoing ones.

    Numbers stay as Telnyx wrote them (E.164); SIP addresses lose their scheme and parameters
    (sip:alice@pbx.example;transport=tls -> alice@pbx.example).
    """
    address = to_number if direction == "outgoing" else from_number
    address = (address or "").strip().strip("<>")
    for scheme in ("sips:", "sip:"):
        if address.lower().startswith(scheme):
            address = address[len(scheme):].split(";", 1)[0]
    return address[:255]


def call_label(call_control_id: str) -> str:
    """The label of a call leg the portal has seen (calls.Call), or empty."""
    call = call_cached(call_control_id)  # a webhook batch's legs are loaded already (calls/batch.py)
    if call is None and not call_surely_absent(call_control_id):
        call = Call.objects.filter(call_control_id=call_control_id).only("from_number", "to_number", "direction").first()
    return leg_label(from_number=call.from_number, to_number=call.to_number, direction=call.direction) if call else ""


def call_labels(call_control_ids: list) -> dict[str, str]:
    """Labels of many call legs in one query."""
    legs = Call.objects.filter(call_control_id__in=[c for c in call_control_ids if c]).only(
        "call_control_id", "from_number", "to_number", "direction"
    )
    return {c.call_control_id: leg_label(from_number=c.from_number, to_number=c.to_number, direction=c.direction) for c in legs}
