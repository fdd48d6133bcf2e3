"""Writes to call legs, applied from lifecycle webhooks."""
from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string

from calls.models import Call
from portal import live
from webhooks.ordering import apply_if_newer


def call_record_state(
    *, call_control_id: str, state: str, occurred_at: datetime | None, details: dict
) -> Call:
    """Create the leg if new and move it to `state`, unless a newer event already moved it further."""
    call, _ = Call.objects.get_or_create(call_control_id=call_control_id)
    changes = {k: v for k, v in details.items() if v not in (None, "")}
    # Facts like from/to fill in whatever the order; only the state obeys occurred_at.
    for name, value in changes.items():
        if not getattr(call, name):
            setattr(call, name, value)
    call.save()
    apply_if_newer(call, occurred_at, {"state": state})
    publish_calls()
    return call


def publish_calls() -> None:
    """Refresh the Calls page and the dashboard after commit."""
    from calls.selectors import call_list

    live.publish_rendered_once(
        "calls", lambda: [("calls", render_to_string("calls/_call_table.html", {"calls": call_list(), "oob": True}))]
    )
    live.publish_admin_changed("calls", "call")
    live.publish_dashboard()
