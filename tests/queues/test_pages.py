"""The queue board, wallboard and queue page: what they show, by permission, and the read API."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from queues.models import Queue, QueuedCall
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(db):
    now = timezone.now()
    queue = QueueFactory(name="support", max_size=12, average_wait_secs=0, average_wait_reported_at=now)
    QueuedCallFactory(queue=queue, call_control_id="v3:first", enqueued_at=now - timedelta(seconds=80), from_number="+15550000001",
                      to_number="+15550000100")
    QueuedCallFactory(queue=queue, call_control_id="v3:second", enqueued_at=now - timedelta(seconds=20))
    QueuedCallFactory(queue=queue, call_control_id="v3:left", enqueued_at=now - timedelta(minutes=10), left_at=now - timedelta(minutes=9),
                      wait_time_secs=60, leave_reason="hangup", position=1)
    QueuedCallFactory(queue=queue, call_control_id="v3:answered", enqueued_at=now - timedelta(minutes=8),
                      left_at=now - timedelta(minutes=8) + timedelta(seconds=5), wait_time_secs=5, leave_reason="bridged")
    from queues.rows import line_renumber

    line_renumber(queue)
    return queue


def test_board_shows_each_queue_with_labelled_figures(client, viewer, support):
    QueueFactory(name="old", deleted_at=timezone.now())
    client.force_login(viewer)
    html = client.get("/queues/").content.decode()
    assert 'id="queue-table"' in html and 'href="/queues/support/"' in html
    card = html[html.index('data-queue="support"'):]
    assert 'data-waiting>2<' in card
    assert "Longest wait now" in card and "data-since=" in card
    assert 'data-service-level>50 %' in card          # 1 of 2 finished callers answered within 20 s
    assert "sl-bad" in html                            # 50 % against a goal of 80 %
    assert 'data-max-size>12<' in card
    assert "Average wait (Telnyx)" not in html         # the old, unexplained figure is gone from the board
    assert "Deleted, history kept" in html and "/queues/old/" in html
    assert "New queue" not in html and "Sync with Telnyx now" not in html   # viewers only watch


def test_board_offers_create_and_sync_by_permission(client, operator, administrator, support):
    client.force_login(operator)
    html = client.get("/queues/").content.decode()
    assert "Sync with Telnyx now" in html and "New queue" not in html
    client.force_login(administrator)
    assert "New queue" in client.get("/queues/").content.decode()


def test_empty_board_explains_itself(client, viewer):
    client.force_login(viewer)
    assert "No queues yet" in client.get("/queues/").content.decode()


def test_wallboard_shows_the_same_board(client, viewer, support):
    client.force_login(viewer)
    response = client.get("/wallboard/queues/")
    html = response.content.decode()
    assert response.status_code == 200 and 'class="wallboard"' in html and 'data-queue="support"' in html
    assert "subscribe=queues" in html


@pytest.mark.parametrize("url", ["/queues/", "/wallboard/queues/"])
def test_board_pages_queues_by_name_and_filters_them(client, viewer, url):
    from queues.selectors import BOARD_PAGE_SIZE

    for i in range(BOARD_PAGE_SIZE + 2):
        QueueFactory(name=f"q-{i:03d}")
    client.force_login(viewer)
    first = client.get(url).content.decode()
    assert first.count('class="queue-card sl-') == BOARD_PAGE_SIZE
    assert "Next ›" in first
    if url == "/queues/":  # the wallboard has no filter box (issue 31): its queues come from the URL
        assert f"1–{BOARD_PAGE_SIZE} of {BOARD_PAGE_SIZE + 2} queues, most urgent first" in first
    assert "data-live-refetch" not in first  # the first page is patched by pushed fragments
    second = client.get(f"{url}?page=2").content.decode()
    assert 'data-queue="q-048"' in second and 'data-queue="q-049"' in second and 'data-queue="q-000"' not in second
    assert "data-live-refetch" in second and "subscribe=queues" in second  # later pages re-fetch themselves
    found = client.get(f"{url}?q=q-01").content.decode()
    assert found.count('class="queue-card sl-') == 10 and "data-live-refetch" in found
    assert "No queue name contains “nothing”" in client.get(f"{url}?q=nothing").content.decode()


def test_wallboard_shows_the_queues_its_url_names_without_filter_box_or_messages(client, viewer):
    for name in ("sales", "support", "billing"):
        QueueFactory(name=name)
    client.force_login(viewer)
    html = client.get("/wallboard/queues/?queue=sales&queue=billing").content.decode()
    assert 'data-queue="sales"' in html and 'data-queue="billing"' in html and 'data-queue="support"' not in html
    assert 'id="board-q"' not in html and 'id="toasts"' not in html and 'id="wallboard-clock"' in html


def test_board_sorts_by_urgency_below_goal_then_longest_wait(client, viewer):
    now = timezone.now()
    calm, long_wait, below = QueueFactory(name="a-calm"), QueueFactory(name="b-long-wait"), QueueFactory(name="c-below-goal")
    QueuedCall.objects.create(queue=long_wait, call_control_id="w1", enqueued_at=now - timedelta(seconds=300))
    QueuedCall.objects.create(queue=calm, call_control_id="w2", enqueued_at=now - timedelta(seconds=10))
    QueuedCall.objects.create(  # answered after 200 s against a 20 s target: 0 % of a goal of 80 %
        queue=below, call_control_id="w3", enqueued_at=now - timedelta(seconds=400), left_at=now - timedelta(seconds=200),
        leave_reason=QueuedCall.Reason.BRIDGED, wait_time_secs=200,
    )
    client.force_login(viewer)
    html = client.get("/queues/").content.decode()
    order = [html.index(f'data-queue="{n}"') for n in ("c-below-goal", "b-long-wait", "a-calm")]
    assert order == sorted(order)


def test_board_csv_export(client, viewer, support):
    client.force_login(viewer)
    response = client.get("/queues/", {"format": "csv", "window": "hour"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["queue"], r["offered"], r["answered"], r["abandoned"], r["waiting_now"]) for r in rows] == [("support", "4", "1", "1", "2")]


def test_queue_page_lists_callers_in_line_history_metrics_and_chart(client, operator, support):
    client.force_login(operator)
    html = client.get("/queues/support/").content.decode()
    line = html[html.index('id="waiting-callers"'):html.index('id="queue-history"')]
    assert line.index("v3:first") < line.index("v3:second")
    assert "+15550000001 → +15550000100" in line and 'data-since="' in line and "alive" in line
    assert "Force-remove" in line and "Keep after hangup" in line
    history = html[html.index('id="queue-history"'):]
    assert "Hung up (abandoned)" in history and "0:01:00" in history
    assert 'data-metric="offered">4<' in html and 'data-metric="abandon_rate">25 %' in html
    assert "<svg" in html and 'class="waiting"' in html
    assert "Telnyx&#x27;s own average" in html or "Telnyx's own average" in html   # explained, apart from the longest wait
    assert f"queue.{support.pk}" in html   # subscribes to its own group
    assert "Change max size" not in html   # an Operator manages callers, not queues


def test_queue_page_controls_for_administrators(client, administrator, support):
    client.force_login(administrator)
    html = client.get("/queues/support/").content.decode()
    assert "Change max size" in html and "Delete queue" in html and 'name="force"' in html
    assert 'id="service-level-form"' in html


def test_viewer_sees_no_controls(client, viewer, support):
    client.force_login(viewer)
    html = client.get("/queues/support/").content.decode()
    assert "v3:first" in html and "Force-remove" not in html and "Controls need the Operator, Supervisor or Administrator role." in html


def test_metrics_window_and_csv_on_the_queue_page(client, viewer, support):
    client.force_login(viewer)
    html = client.get("/queues/support/", {"window": "7d"}).content.decode()
    assert 'data-window="7d"' in html
    response = client.get("/queues/support/", {"format": "csv", "window": "today"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["queue"] == "support" and rows[0]["window"] == "today"


def test_live_fragment_matches_the_page(client, viewer, support):
    client.force_login(viewer)
    fragment = client.get("/queues/support/live/").content.decode()
    assert fragment.lstrip().split(">", 1)[0].endswith('<section id="queue-live" data-live-refresh="/queues/support/live/?window=today"')


def test_service_level_settings_form(client, administrator, operator, support):
    client.force_login(operator)
    assert client.post("/queues/support/settings/", {"service_level_target_secs": "5"}).status_code == 403
    client.force_login(administrator)
    response = client.post("/queues/support/settings/", {"service_level_target_secs": "30", "service_level_goal_percent": "90"}, follow=True)
    assert "Service level target saved" in response.content.decode()
    support.refresh_from_db()
    assert (support.service_level_target_secs, support.service_level_goal_percent) == (30, 90)
    response = client.post("/queues/support/settings/", {"service_level_target_secs": "0"}, follow=True)
    assert "from 1 to 3600" in response.content.decode()


def test_queue_names_with_spaces_and_unknown_queue(client, viewer):
    QueueFactory(name="tier 1 support")
    client.force_login(viewer)
    assert client.get("/queues/tier%201%20support/").status_code == 200
    assert "/queues/tier%201%20support/" in client.get("/queues/").content.decode()
    assert client.get("/queues/nope/").status_code == 404


def test_api_reads(client, viewer, support):
    client.force_login(viewer)
    listing = client.get("/api/v1/queues/").json()
    assert listing["count"] == 1
    row = listing["results"][0]
    assert (row["name"], row["waiting_now"], row["max_size"], row["telnyx_average_wait_secs"]) == ("support", 2, 12, 0)
    assert client.get("/api/v1/queues/support/").json()["service_level_target_secs"] == 20
    calls = client.get("/api/v1/queues/support/calls/").json()
    assert [(c["call_control_id"], c["position"]) for c in calls["results"]] == [("v3:first", 1), ("v3:second", 2)]
    assert calls["results"][0]["from_number"] == "+15550000001"
    left = client.get("/api/v1/queues/support/calls/", {"status": "left"}).json()
    assert [c["call_control_id"] for c in left["results"]] == ["v3:answered", "v3:left"]
    metrics = client.get("/api/v1/queues/support/metrics/", {"window": "today"}).json()
    assert (metrics["offered"], metrics["answered"], metrics["service_level"], metrics["waiting_now"]) == (4, 1, 50.0, 2)
    assert client.get("/api/v1/queues/support/metrics/", {"window": "year"}).status_code == 400
    as_csv = client.get("/api/v1/queues/support/metrics/", {"window": "hour", "format": "csv"})
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert rows[0]["queue"] == "support" and rows[0]["offered"] == "4"


def test_api_needs_the_view_permission(client, db):
    from tests.factories import UserFactory

    QueueFactory(name="support")
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/api/v1/queues/").status_code == 403
    assert client.get("/api/v1/queues/support/metrics/").status_code == 403


def test_dashboard_counts_alive_waiting_callers(client, viewer, support):
    QueuedCallFactory(queue=support, call_control_id="v3:dead", is_alive=False, enqueued_at=timezone.now() - timedelta(hours=1))
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert '<span class="value">2</span><span class="label">callers waiting' in html
    assert Queue.objects.count() == 1
