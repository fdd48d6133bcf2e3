"""List pages paginate and say how they stay live; command detail shows JSON; favicon needs no login."""
import pytest

from portal.models import Command
from tests.factories import CommandFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def events(count, **fields):
    for i in range(count):
        WebhookEvent.objects.create(event_id=f"evt-{i}", event_type=fields.get("event_type", "call.initiated"),
                                    raw_body="{}", payload={}, **{k: v for k, v in fields.items() if k != "event_type"})


def test_events_page_paginates_and_is_live_on_page_one(client, viewer):
    events(55)
    client.force_login(viewer)
    first = client.get("/events/")
    html = first.content.decode()
    assert first.context["live_groups"] == ["events"]
    assert html.count('<tr id="event-') == 50 and "Page 1 of 2" in html
    assert 'data-live-limit="50"' in html and "data-live-refetch" not in html
    second = client.get("/events/", {"page": 2})
    assert second.context["live_groups"] == [] and second.content.decode().count('<tr id="event-') == 5


def test_filtered_events_page_stays_live_by_refetching(client, viewer):
    events(3, conference_id="conf-1")
    events(0)
    client.force_login(viewer)
    response = client.get("/events/", {"conference_id": "conf-1"})
    html = response.content.decode()
    assert response.context["live_groups"] == ["events"]
    assert 'id="event-rows" data-live-refresh="" data-live-refetch' in html
    assert "refreshes itself when something changes" in html
    assert "Live updates pause" not in html


def test_events_page_with_a_bad_filter_shows_the_error_not_everything(client, viewer):
    events(2)
    client.force_login(viewer)
    html = client.get("/events/", {"since": "yesterday"}).content.decode()
    assert "Enter a date (YYYY-MM-DD, the whole day in the portal&#x27;s time zone)" in html and '<tr id="event-' not in html


def test_commands_page_paginates(client, viewer):
    for _ in range(51):
        CommandFactory()
    client.force_login(viewer)
    first = client.get("/commands/")
    assert len(first.context["commands"]) == 50 and first.context["live_groups"] == ["commands"]
    assert client.get("/commands/", {"page": 2}).content.decode().count('<tr id="command-') == 1
    filtered = client.get("/commands/", {"status": "queued"})
    assert "data-live-refetch" in filtered.content.decode()


def test_command_detail_shows_parameters_answer_and_local_error_as_json(client, viewer):
    command = CommandFactory(
        params={"call_control_ids": ["v3:a"], "region": "US"}, status=Command.Status.SUCCEEDED,
        response={"data": {"result": "ok"}}, local_error="Traceback (most recent call last):\n  boom",
    )
    client.force_login(viewer)
    html = client.get(f"/commands/{command.pk}/").content.decode()
    assert "&quot;call_control_ids&quot;: [\n    &quot;v3:a&quot;\n  ]" in html
    assert "&quot;result&quot;: &quot;ok&quot;" in html
    assert "not mirrored here" in html and "boom" in html
    assert f'id="command-detail-{command.pk}"' in html


def test_command_detail_updates_in_place_when_the_command_moves(telnyx, operator, listen, django_capture_on_commit_callbacks):
    from conferencing.models import Conference
    from portal.commands import services

    Conference.objects.create(conference_id="conf-1")
    telnyx.post("/conferences/conf-1/actions/end").respond(200, json={"data": {"result": "ok"}})
    listen("commands")
    with django_capture_on_commit_callbacks(execute=True):
        command = services.command_issue(action_name="conference.end", target="conf-1", params={}, user=operator, door="page")
    pushed = listen.received("commands")
    assert all(f'<div id="command-detail-{command.pk}" data-live-refresh="" hx-swap-oob="true">' in html for html in pushed)
    assert "&quot;result&quot;: &quot;ok&quot;" in pushed[-1]


def test_favicon_needs_no_login_and_pages_link_an_icon(client, viewer):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("portal/favicon.ico")
    client.force_login(viewer)
    assert '<link rel="icon" href="/static/portal/favicon.svg"' in client.get("/events/").content.decode()
