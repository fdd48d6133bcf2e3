"""What the calls app publishes to open pages: a call's page (and its heard / masked content), the lists, admin."""
from __future__ import annotations

from django.template.loader import render_to_string

from calls import selectors
from calls.models import Call
from portal import live, voice_content


def call_group(call: Call) -> str:
    """The live group of one call's page (call_control_ids hold ':', so the pk names it)."""
    return f"call.{call.pk}"


def publish_call(call: Call, *, event=None, list_changed: bool = True, dashboard: bool = False,
                 dtmf: bool = False, transcript: bool = False) -> None:
    """After commit: the call's own page (header, DTMF, transcript, a timeline row) and, if it changed, the lists.

    Each part is rendered once per transaction, from the same partials as the page.
    """
    group, pk = call_group(call), call.pk

    def part(template: str, extra=None, target: str = group):
        def build():
            fresh = selectors.call_detail(pk)
            if fresh is None:
                return []
            context = {"call": fresh, "oob": True, **(extra(fresh) if extra else {})}
            return [(target, render_to_string(template, context))]

        return build

    live.publish_rendered_once(f"call:{pk}", part("calls/_call_live.html"), groups=[group])
    if call.state == Call.State.HANGUP:  # an ended call takes no commands: open pages drop its forms (issue 26)
        live.publish_on_commit(group, '<div data-refresh="call-controls" hidden></div>')
    # What was said or pressed goes to the content groups only: as heard to listeners, masked to others.
    for audience, masked in ((f"{group}.{voice_content.HEARD}", False), (f"{group}.{voice_content.MASKED}", True)):
        if dtmf:
            live.publish_rendered_once(
                f"call-dtmf:{pk}:{masked}",
                part("calls/_call_dtmf.html", lambda c, m=masked: {"digits": selectors.call_dtmf(c, masked=m), "masked": m},
                     audience),
                groups=[audience],
            )
        if transcript:
            live.publish_rendered_once(
                f"call-transcript:{pk}:{masked}",
                part("calls/_call_transcript.html",
                     lambda c, m=masked: {"transcript": selectors.call_transcript(c), "masked": m}, audience),
                groups=[audience],
            )
    if event is not None:
        snapshot = live.snapshot(event)  # rendered after commit (if watched): as it is now
        if event.event_type in selectors.CONTENT_EVENT_TYPES:
            for audience, masked in ((f"{group}.{voice_content.HEARD}", False), (f"{group}.{voice_content.MASKED}", True)):
                live.publish_on_commit(audience, lambda m=masked: render_to_string(
                    "calls/_timeline_append.html", {"item": selectors.event_item(snapshot, masked=m)}))
        else:
            live.publish_on_commit(
                group, lambda: render_to_string("calls/_timeline_append.html", {"item": selectors.event_item(snapshot)})
            )
    if list_changed:
        publish_calls(dashboard=dashboard)


def publish_calls(dashboard: bool = True) -> None:
    """Refresh the Calls page's first page, open admin changelists and (for lifecycle changes) the dashboard."""
    live.publish_rendered_once(
        "calls",
        lambda: [("calls", render_to_string("calls/_call_tables.html", {**selectors.call_list_context(), "oob": True}))],
        groups=["calls"],
    )
    live.publish_admin_changed("calls", "call")
    if dashboard:
        live.publish_dashboard()
