"""The Events page's row, built in Python: rendered for every event applied while the page is open (issue 25).

The page's first render and the live updates both use it. A Django template took 0.3 ms a row, about a
sixth of what applying an event costs a drain; this produces the same markup in a fraction of that.
"""
from __future__ import annotations

from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from webhooks.models import WebhookEvent

_FILTERS = (("call_control_id", True), ("conference_id", True), ("queue_name", False))


def event_row(event: WebhookEvent, *, oob: bool = False, new: bool = False) -> SafeString:
    """`<tr>` of one event; `oob` replaces the page's row in place, `new` inserts it at the top of the list."""
    attempts = f' <span class="muted">×{event.attempts}</span>' if event.attempts > 1 else ""
    cells = "".join(_filter_cell(event, name, code) for name, code in _FILTERS)
    in_place = ' hx-swap-oob="true"' if oob and not new else ""
    row = (
        f'<tr id="event-{event.pk}"{in_place}>'
        f'<td><a href="{escape(reverse("event-detail", args=[event.pk]))}">{escape(event.event_type)}</a></td>'
        f'<td><span class="badge {escape(event.status)}">{escape(event.get_status_display())}</span>{attempts}</td>'
        f'<td title="{_iso(event.occurred_at)}">{_clock(event.occurred_at) or "—"}</td>'
        f'<td title="{_iso(event.received_at)}">{_clock(event.received_at)}</td>'
        f"{cells}</tr>"
    )
    return mark_safe(f'<tbody hx-swap-oob="afterbegin:#event-rows">{row}</tbody>' if new else row)  # noqa: S308 - every value escaped above


def _filter_cell(event: WebhookEvent, name: str, code: bool) -> str:
    """A cell linking to the list filtered by this value (ids shown as code, cut to 24 characters; names whole)."""
    value = getattr(event, name)
    if not value:
        return "<td></td>"
    shown = escape(Truncator(value).chars(24) if code and len(value) > 24 else value)  # a queue's name in full
    return f'<td><a href="?{name}={escape(quote(value, safe="/"))}">{f"<code>{shown}</code>" if code else shown}</a></td>'


def _iso(moment) -> str:
    return escape(timezone.localtime(moment).isoformat()) if moment else ""


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment else ""
