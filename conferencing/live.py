"""What the conferencing app publishes to open pages: a conference's page, the list, admin and dashboard."""
from __future__ import annotations

from django.template.loader import render_to_string

from conferencing.models import Conference
from conferencing.selectors import conference_list
from portal import live


def publish_conference(conference: Conference) -> None:
    """After commit: the conference's page, the conferences list, the admin and the dashboard (each once)."""
    conference_id = conference.conference_id
    group = f"conference.{conference_id}"
    if live.GROUP_NAME.match(group):
        # Controls and recording links differ by permission, so each open page fetches its own rendering
        # of the regions this names; the status is read after commit, when the controls may have to go.
        def build():
            status, name = Conference.objects.filter(conference_id=conference_id).values_list("status", "name").first() or ("", "")
            context = {"conference_id": conference_id, "name": name, "ended": status == Conference.Status.COMPLETED}
            return [(group, render_to_string("conferencing/_refresh.html", context))]

        live.publish_rendered_once(f"conference:{conference_id}", build, groups=[group])
    live.publish_rendered_once(
        "conferences",
        lambda: [("conferences", render_to_string("conferencing/_conference_table.html", {"conferences": conference_list(), "oob": True}))],
        groups=["conferences"],
    )
    live.publish_admin_changed("conferencing", "conference")
    live.publish_admin_changed("conferencing", "participant")
    live.publish_dashboard()


def publish_conferences_synced(conference_ids: list[str]) -> None:
    """One refresh for the list, the dashboard and each synced conference's page."""
    for conference in Conference.objects.filter(conference_id__in=conference_ids).only("conference_id"):
        publish_conference(conference)
