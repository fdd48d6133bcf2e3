"""Publishing live updates: services call these after a write; messages leave after commit."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
GROUP_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,99}$")

# Which permission lets a socket join a group, by the group's first dotted part.
GROUP_PERMISSIONS = {
    "dashboard": "portal.view_dashboard",
    "commands": "portal.view_command",
    "events": "webhooks.view_webhookevent",
    "conferences": "conferencing.view_conference",
    "conference": "conferencing.view_conference",
    "queues": "queues.view_queue",
    "queue": "queues.view_queue",
    "calls": "calls.view_call",
    "call": "calls.view_call",
    "recordings": "recordings.view_recording",
    "admin": None,  # admin.<app_label>.<model>: checked against that model's view permission
}


def group_permission(group: str) -> str | None:
    """The permission a user needs to join `group`, or None if nobody may join it."""
    if not GROUP_NAME.match(group):
        return None
    head, _, rest = group.partition(".")
    if head == "admin":
        app_label, _, model = rest.partition(".")
        return f"{app_label}.view_{model}" if app_label and model else None
    return GROUP_PERMISSIONS.get(head)


def user_group(user_id: int) -> str:
    """The private group of one user (command outcomes, toasts)."""
    return f"user.{user_id}"


def send_now(group: str, html: str) -> None:
    """Send one HTML fragment to a group now; a dead channel layer never breaks the caller."""
    if not GROUP_NAME.match(group):
        raise ValueError(f"invalid group name {group!r}")
    try:
        async_to_sync(get_channel_layer().group_send)(group, {"type": "live.html", "html": html})
    except Exception:  # noqa: BLE001 - live updates are best effort; state is already committed
        log.warning("live update to %s failed", group, exc_info=True)


def publish_on_commit(group: str, html: str) -> None:
    """Queue an HTML fragment (with hx-swap-oob targets) for `group` once the transaction commits."""
    if not GROUP_NAME.match(group):
        raise ValueError(f"invalid group name {group!r}")
    transaction.on_commit(lambda: send_now(group, html))


def publish_rendered_once(key: str, build: Callable[[], list[tuple[str, str]]]) -> None:
    """Render and publish once per transaction, however many writes asked for it.

    `build` runs after commit and returns (group, html) pairs; repeated calls with the same key inside
    one transaction are folded into one (Django drops the callback on rollback, so nothing is lost).
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(callback, "live_key", None) == key for _, callback, _ in connection.run_on_commit
    ):
        return

    def flush() -> None:
        for group, html in build():
            send_now(group, html)

    flush.live_key = key
    transaction.on_commit(flush)


def oob(template: str, context: dict) -> str:
    """Render a partial for an out-of-band swap (the partial carries its own id)."""
    return render_to_string(template, {**context, "oob": True})


def publish_admin_changed(app_label: str, model: str) -> None:
    """Tell open admin changelists of a model that rows changed."""
    publish_rendered_once(
        f"admin.{app_label}.{model}",
        lambda: [(f"admin.{app_label}.{model}", render_to_string("admin/_live_changed.html", {"model": model}))],
    )


def publish_toast(user_id: int | None, html: str) -> None:
    """Send a toast to one user's open pages after commit."""
    if user_id:
        publish_on_commit(user_group(user_id), html)


def publish_dashboard() -> None:
    """Re-render the dashboard counters for open dashboards, once per transaction."""

    def build():
        from portal.selectors import dashboard_counters

        html = render_to_string("portal/_counters.html", {"counters": dashboard_counters(), "oob": True})
        return [("dashboard", html)]

    publish_rendered_once("dashboard", build)
