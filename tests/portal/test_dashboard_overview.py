"""The dashboard as a supervisor's overview (issue 26): every number links to the list it counts, filtered."""
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.evaluation import evaluate
from calls.models import Call
from portal.models import Command
from tests.alerts.factories import AlertRuleFactory
from tests.factories import CommandFactory, ConferenceFactory, ParticipantFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def link_of(html: str, marker: str) -> str:
    """The href of the <a> carrying `marker` (an attribute written inside its opening tag)."""
    found = re.search(r'<a [^>]*href="([^"]+)"[^>]*' + re.escape(marker), html)
    assert found, marker
    return found.group(1).replace("&amp;", "&")


def follow(client, href: str):
    response = client.get(href)
    assert response.status_code == 200, href
    return response.content.decode()


@pytest.fixture
def busy(db):
    now = timezone.now()
    support, sales = QueueFactory(name="support", service_level_goal_percent=80), QueueFactory(name="sales")
    QueuedCallFactory(queue=support, call_control_id="v3:long", enqueued_at=now - timedelta(seconds=300))
    QueuedCallFactory(queue=sales, call_control_id="v3:short", enqueued_at=now - timedelta(seconds=20))
    QueuedCallFactory(queue=support, call_control_id="v3:late", enqueued_at=now - timedelta(minutes=10),
                      left_at=now - timedelta(minutes=9), leave_reason="bridged", wait_time_secs=60, is_alive=False)
    room = ConferenceFactory(conference_id="conf-live", name="Escalations")
    ParticipantFactory(conference=room, call_control_id="v3:p1")
    ConferenceFactory(conference_id="conf-done", name="Old", status="completed")
    # Within the hour that holds now (the chart's bar of this hour), even in an hour's first minutes.
    this_hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    Call.objects.create(call_control_id="v3:up", state=Call.State.ANSWERED, started_at=max(now - timedelta(minutes=1), this_hour))
    Call.objects.create(call_control_id="v3:gone", state=Call.State.HANGUP, started_at=max(now - timedelta(minutes=2), this_hour))
    Call.objects.create(call_control_id="v3:yday", state=Call.State.HANGUP, started_at=now - timedelta(days=1))
    CommandFactory(status=Command.Status.FAILED, action="call.hangup", target="v3:gone")
    old = CommandFactory(status=Command.Status.FAILED, action="call.speak", target="v3:up")
    Command.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=3))  # auto_now_add
    WebhookEvent.objects.create(event_id="bad-1", event_type="call.hangup", payload={}, raw_body="{}",
                                status=WebhookEvent.Status.FAILED)
    AlertRuleFactory(name="Long wait", metric="longest_wait_secs", threshold=120, for_secs=0, severity="critical")
    evaluate()
    return now


def test_longest_wait_names_its_queue_and_opens_it(client, viewer, busy):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert re.search(r'longest wait in <strong data-longest-queue>support</strong>', html)
    href = link_of(html, 'data-counter="longest_wait"')
    assert href == "/queues/support/"
    assert "v3:long" in follow(client, href)


def test_every_counter_links_to_its_list_filtered_to_what_it_counts(client, viewer, busy):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    calls = follow(client, link_of(html, 'data-counter="active_calls"'))
    assert "v3:up" in calls and "v3:gone" not in calls
    failed = link_of(html, 'data-counter="failed_commands"')
    assert parse_qs(urlparse(failed).query)["status"] == ["failed"]
    commands = follow(client, failed)
    assert "call.hangup" in commands and "call.speak" not in commands  # the counter's last hour only
    events = follow(client, link_of(html, 'data-counter="failed_events"'))
    assert "bad-1" in events or "call.hangup" in events
    conferences = follow(client, link_of(html, 'data-counter="active_conferences"'))
    assert "Escalations" in conferences and "Old" not in conferences


def test_the_active_conferences_link_lists_exactly_the_conferences_it_counts_in_page_and_api(client, viewer, busy):
    ConferenceFactory(conference_id="conf-starting", name="Starting", status="init")
    client.force_login(viewer)
    html = client.get("/").content.decode()
    number = int(re.search(r'data-counter="active_conferences"><span class="value">(\d+)<', html).group(1))
    assert number == 2  # conf-live (in progress) and conf-starting (init); conf-done is not counted
    href = link_of(html, 'data-counter="active_conferences"')
    assert parse_qs(urlparse(href).query)["status"] == ["active"]
    listed = re.findall(r'<tr id="conference-\d+"', follow(client, href))
    assert len(listed) == number
    api = client.get("/api/v1/conferences/?status=active").json()
    assert sorted(c["id"] for c in api["results"]) == ["conf-live", "conf-starting"]
    assert client.get("/api/v1/conferences/?status=sometimes").status_code == 400


def test_the_overview_shows_alerts_first_then_queues_against_their_goals(client, viewer, busy):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert html.index('id="dashboard-alerts"') < html.index('id="dashboard-queues"')
    alerts = html[html.index('id="dashboard-alerts"'):html.index('id="dashboard-queues"')]
    assert "Long wait" in alerts and 'href="/queues/support/"' in alerts
    assert link_of(alerts, 'data-count="alerts"') == "/alerts/?active=true"
    listed = follow(client, "/alerts/?active=true")
    assert listed.count('class="alert-row ') == 1
    from alerts.models import Alert

    Alert.objects.update(status="acknowledged")  # acknowledged is not resolved: still counted and listed
    assert follow(client, "/alerts/?active=true").count('class="alert-row ') == 1
    assert follow(client, "/alerts/?active=false").count('class="alert-row ') == 0
    support_row = re.search(r'<tr class="sl-(\w+)" data-queue="support">(.*?)</tr>', html, re.S)
    assert support_row.group(1) == "bad"  # 0 % answered within 20 s against an 80 % goal: red as on the board
    assert re.search(r'data-figure="waiting">1<', support_row.group(2))
    assert 'href="/queues/support/"' in support_row.group(2)


def test_the_chart_compares_calls_per_hour_with_yesterday_and_each_hour_links_to_its_calls(client, viewer, busy):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    chart = html[html.index('id="dashboard-calls-chart"'):html.index('id="dashboard-conferences"')]
    hour = timezone.localtime(busy).strftime("%H:00")
    bar = re.search(r'<a href="([^"]+)" data-hour="' + hour + r'">(.*?)</a>', chart, re.S)
    assert bar, hour
    calls = follow(client, bar.group(1).replace("&amp;", "&"))
    assert "v3:up" in calls and "v3:yday" not in calls
    assert f"{hour} today: " in bar.group(2)


def test_active_conferences_with_their_participants_and_recent_failures_link_to_their_pages(client, viewer, busy):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    conferences = html[html.index('id="dashboard-conferences"'):html.index('id="dashboard-failures"')]
    assert 'href="/conferences/conf-live/"' in conferences and "1 participant" in conferences
    assert "conf-done" not in conferences
    failures = html[html.index('id="dashboard-failures"'):]
    command = Command.objects.get(action="call.hangup")
    assert f'href="/commands/{command.pk}/"' in failures
    event = WebhookEvent.objects.get(event_id="bad-1")
    assert f'href="/events/{event.pk}/"' in failures


def test_the_overview_costs_the_same_queries_with_more_queues_and_conferences(client, viewer, busy):
    client.force_login(viewer)
    client.get("/")
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for i in range(8):
        queue = QueueFactory(name=f"more-{i}")
        QueuedCallFactory(queue=queue, enqueued_at=timezone.now() - timedelta(seconds=30))
        ParticipantFactory(conference=ConferenceFactory(conference_id=f"c-{i}"), call_control_id=f"v3:m{i}")
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_queue_change_redraws_the_overview_on_open_dashboards(listen, django_capture_on_commit_callbacks):
    from queues import services

    listen("dashboard")
    with django_capture_on_commit_callbacks(execute=True):
        services.queued_call_enter(queue_name="pushed", call_control_id="v3:pushed", occurred_at=timezone.now())
    messages = listen.received("dashboard")
    assert len(messages) == 1
    assert 'id="dashboard-overview" hx-swap-oob="true"' in messages[0]
    assert re.search(r'<tr class="sl-none" data-queue="pushed">.*?data-figure="waiting">1<', messages[0], re.S)


def test_with_many_queues_the_overview_shows_the_most_urgent_and_links_to_the_board(client, viewer, db):
    from portal.selectors import OVERVIEW_QUEUES

    now = timezone.now()
    for n in range(OVERVIEW_QUEUES + 5):
        QueueFactory(name=f"quiet-{n:02d}")
    waiting = QueueFactory(name="zz-waiting")
    QueuedCallFactory(queue=waiting, enqueued_at=now - timedelta(minutes=9), left_at=None)
    client.force_login(viewer)
    html = client.get("/").content.decode()
    panel = html[html.index('id="dashboard-queues"'):html.index('id="dashboard-calls-chart"')]
    rows = re.findall(r'<tr class="sl-\w+" data-queue="([^"]+)">', panel)
    assert len(rows) == OVERVIEW_QUEUES
    assert rows[0] == "zz-waiting"  # a caller waiting 9 minutes comes before every quiet queue, whatever its name
    assert f"All {OVERVIEW_QUEUES + 6} queues on the board" in panel and 'href="/queues/"' in panel
