"""What the recordings app publishes to open pages: a recording's row and page, the list, admin, dashboard."""
from __future__ import annotations

from django.template.loader import render_to_string

from portal import live
from portal.commands import actions
from recordings.models import Recording
from recordings.selectors import recording_list, recording_queryset


def recording_group(recording: Recording) -> str:
    return f"recording.{recording.pk}"


def publish_recording(recording: Recording, *, new: bool = False, list_too: bool = True) -> None:
    """After commit: the row on open recordings lists, the recording's page, its conference, admin, dashboard."""
    pk = recording.pk

    def build():
        fresh = recording_queryset().filter(pk=pk).first()
        if fresh is None:
            return []
        pieces = []
        if list_too:
            row = render_to_string("recordings/_recording_row.html", {"r": fresh, "oob": True, "new": new})
            pieces.append(("recordings", row))
        trigger = render_to_string("recordings/_refresh.html", {"recording": fresh})
        pieces.append((recording_group(fresh), trigger))
        return pieces

    groups = [f"recording.{pk}", *(["recordings"] if list_too else [])]
    live.publish_rendered_once(f"recording:{pk}:{int(new)}:{int(list_too)}", build, groups=groups)
    if list_too:
        live.publish_admin_changed("recordings", "recording")
        live.publish_dashboard()
        if recording.conference_id:
            _publish_conference(recording.conference_id)
        if recording.call_control_id:
            _publish_call(recording.call_control_id)


def _publish_conference(conference_id: str) -> None:
    """The conference page lists its recordings and counts them: its open pages re-fetch those regions.

    Through the conference's own group (one group per thing people look at), without importing the
    conferencing app, which sits above recordings (README, Layout).
    """
    group = f"conference.{conference_id}"
    if live.GROUP_NAME.match(group):
        live.publish_rendered_once(
            f"conference-recordings:{conference_id}",
            lambda: [(group, render_to_string("recordings/_conference_refresh.html"))],
            groups=[group],
        )


def _publish_call(call_control_id: str) -> None:
    """The call's page lists its recordings: ask it to re-fetch that section (issue 31), through the call kind."""
    kind = actions.kind("call")
    group = kind.live_group(call_control_id) if kind else None
    if group:
        live.publish_on_commit(group, '<div data-refresh="call-recordings" hidden></div>')


def publish_recordings_list() -> None:
    """After a sync page: the whole table once (rows may be new anywhere in the order)."""

    def build():
        html = render_to_string("recordings/_recording_rows.html", {"recordings": recording_list(), "oob": True})
        return [("recordings", html)]

    live.publish_rendered_once("recordings-list", build, groups=["recordings"])
    live.publish_admin_changed("recordings", "recording")
    live.publish_dashboard()
