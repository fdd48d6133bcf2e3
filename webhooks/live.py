"""What event processing publishes to open pages: the Events list row, the admin and the dashboard."""
from __future__ import annotations

from portal import live
from webhooks.models import WebhookEvent
from webhooks.rows import event_row


def publish_event(event: WebhookEvent, *, new: bool = False) -> None:
    """Publish one event's row (as it is now) to the Events page after commit."""
    event = live.snapshot(event)  # rendered after commit (if watched): as it is now
    live.publish_on_commit("events", lambda: event_row(event, oob=True, new=new))
    live.publish_admin_changed("webhooks", "webhookevent")
    if event.status == WebhookEvent.Status.FAILED:
        live.publish_dashboard()
