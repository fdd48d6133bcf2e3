"""The benchmark harness at toy size, so `make bench` cannot rot: every part that needs no server runs here."""
import json
import socket
import subprocess
import sys
import time

import pytest

from bench import events, load, report, scale
from tests.conftest import SIGNING_KEY
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def test_the_ingest_mix_is_signed_accepted_and_applied_once(client, django_capture_on_commit_callbacks, settings):
    settings.RECORDING_CAPTURE = False  # no fake Telnyx here to download from
    deliveries = [d.signed(SIGNING_KEY) for d in events.mix(120, prefix="smoke")]
    links = [v for d in deliveries for v in json.loads(d.body).get("data", {}).get("payload", {}).values()
             if isinstance(v, dict) and any("://" in str(x) for x in v.values())]
    assert links and all(str(x).startswith("http://127.0.0.1:") for link in links for x in link.values())
    assert {d.event_type for d in deliveries} == set(events.fixture_types())  # all 46 types
    assert sum(d.duplicate for d in deliveries) == 6  # 5% redelivered
    for delivery in deliveries:
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery.headers.items()}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/webhooks/telnyx/", data=delivery.body, content_type="application/json", **headers)
        assert response.status_code == 200, response.content
    assert WebhookEvent.objects.count() == len({d.event_id for d in deliveries})
    assert not WebhookEvent.objects.filter(status__in=["pending", "failed"]).exists()
    assert not WebhookEvent.objects.filter(attempts__gt=1).exists()
    raw = deliveries[0].http("127.0.0.1:1")
    assert raw.startswith(b"POST /webhooks/telnyx/ HTTP/1.1\r\n") and raw.endswith(deliveries[0].body)


def test_marked_deliveries_carry_one_marker_each():
    deliveries = events.marked(30, prefix="m")
    assert len({d.marker for d in deliveries}) == 30
    assert all(d.marker.encode() in d.body for d in deliveries)


def test_pages_are_timed_and_their_queries_counted_at_two_sizes():
    result = scale.pages(small_scale=0.00001, scale=0.00004, repeat=2, log=lambda *a: None)
    urls = {row["url"] for row in result["pages"]}
    assert {"/conferences/", "/calls/", "/queues/", "/recordings/", "/events/", "/commands/"} <= urls
    assert any(url.startswith("/api/v1/") for url in urls)
    assert all(row["queries"] is not None and row["p95_ms"] is not None for row in result["pages"])
    # The rule, at toy size: no page's query count grows with the data.
    assert result["grew"] == [], result["grew"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_is_measured_against_the_fake_telnyx(settings):
    from portal import gateway

    port = _free_port()
    fake = subprocess.Popen([sys.executable, "-m", "bench.fake_telnyx", "--port", str(port), "--recordings", "600"])
    try:
        load.wait_for_port(port, timeout=20)
        settings.TELNYX_BASE_URL = f"http://127.0.0.1:{port}/v2"
        gateway._client.cache_clear()
        (row,) = scale.syncs(["recordings"])
    finally:
        fake.terminate()
        fake.wait(10)
    assert row["error"] is None, row["error"]
    assert row["result"]["created"] == 600
    assert row["queries"] > 0 and row["rss_peak_mib"] >= row["rss_start_mib"]


def test_the_paced_client_keeps_its_schedule_against_a_null_server():
    port = _free_port()
    requests = [d.http(f"127.0.0.1:{port}") for d in events.mix(40, prefix="null")]
    with load.NullServer(port):
        began = time.monotonic()
        result = load.run(load.paced("127.0.0.1", port, requests, rate=200))
    assert result["statuses"] == {200: 40}
    assert 0.15 < time.monotonic() - began < 5
    assert result["n"] == 40 and result["p99_ms"] is not None


def test_the_report_prints_each_figure_beside_its_reference(tmp_path):
    results = {
        "ingest": {"reference_per_s": 1000.0, "intake_per_s": 1500.0, "intake_worker_paused_per_s": 2000.0,
                   "reference_gunicorn_per_s": 600.0, "ratio_gunicorn": 2.5, "ratio_worker_paused_gunicorn": 3.33,
                   "ratio": 1.5, "ratio_worker_paused": 2.0, "lost": 0, "applied_twice": 0, "pending_left": 0,
                   "runs": {"reference": [], "intake": [], "intake_worker_paused": []},
                   "paced": {"rate": 1000, "p50_ms": 5, "p95_ms": 9, "p99_ms": 20, "statuses": {200: 10}},
                   "paced_scaled": {"rate": 333, "p50_ms": 4, "p95_ms": 7, "p99_ms": 11, "statuses": {200: 10}}},
        "live": [{"clients": 50, "rate": 100, "events": 10, "p50_ms": 20, "p95_ms": 40, "p99_ms": 60,
                  "dropped": 0, "frames": 20, "post_p99_ms": 9}],
        "fanout": [{"server": "reference", "clients": 50, "rate": 300, "messages": 1500, "delivered": 75000, "dropped": 0, "frames": 75000,
                    "delivered_per_s": 15000, "daphne_cpu_share": 0.97, "delivered_per_daphne_cpu_s": 14286,
                    "p50_ms": 182.2, "p95_ms": 277.0}],
        "commands": [{"workers": 1, "completed_per_s": 18.0, "bound_per_s": 20.0, "queued_first_per_s": 18.5,
                      "idle_api_to_telnyx": {"p50_ms": 20, "p95_ms": 40},
                      "reference": {"completed_per_s": 19.0, "arrival_per_s": 19.2,
                                    "idle_call_to_telnyx": {"p50_ms": 5, "p95_ms": 9}}}],
        "memory": {"web_total_kib": 400 * 1024},
        "stolen": {"ingest": 0.25, "live": None},
    }
    text = "\n".join(report.lines(results))
    assert "1.50x" in text and "bare view 1,000/s" in text and "18.0/s vs bare task 19.0/s" in text
    assert "(steal) during each part: ingest 25 %" in text
    assert "fan-out alone (reference) 50 sockets @  300 messages/s: 15,000 frames/s delivered, daphne 97% CPU (14,286 per CPU second)" in text
    assert "then applied: 18.5/s vs bare task 19.2/s" in text
    assert "under gunicorn 600/s -> 2.50x" in text and "paced 333/s" in text and "p99 11 ms" in text
    report.save(results, tmp_path)
    assert json.loads((tmp_path / "latest.json").read_text())["ingest"]["ratio"] == 1.5
    assert (tmp_path / "chart.svg").read_text().startswith("<svg")


def test_alert_evaluation_is_measured_and_its_queries_do_not_grow():
    from bench import alerts

    result = alerts.evaluation([(8, 3), (16, 12)], repeat=2, log=lambda *a: None)
    assert [row["rules"] for row in result["sizes"]] == [8, 16]
    assert result["sizes"][1]["alerts_open"] > result["sizes"][0]["alerts_open"]
    assert result["constant"], result
    assert report.lines({"alerts": result})[1].startswith("7 alert evaluation: queries constant in rules x queues: yes")


def test_the_apply_backlog_is_stored_pending_in_partitions_and_reported(settings):
    from bench import apply, report
    from calls.models import Call
    from queues.models import QueuedCall
    from webhooks.apply import apply_events
    from webhooks.models import WebhookEvent
    from webhooks.store import partition_of, resource_keys

    apply._load(120, prefix="before")
    apply_events(list(WebhookEvent.objects.order_by("occurred_at")))
    assert Call.objects.exists() and QueuedCall.objects.exists()
    apply._load(120, prefix="smoke")
    assert not Call.objects.exists() and not QueuedCall.objects.exists()  # each run starts from the same state
    events = list(WebhookEvent.objects.all())
    assert len(events) == 120 and {e.status for e in events} == {WebhookEvent.Status.PENDING}
    assert all(e.partition == partition_of(e.payload, resource_keys(e.payload), e.event_id) for e in events)
    assert len({e.partition for e in events}) > 1
    run = {"workers": 1, "applied": 120, "wall_s": 1.0, "applied_per_s": 120.0, "cpu_ms_per_event": 2.0,
           "db_cpu_ms_per_event": 1.0, "vs_one": 1.0, "vs_naive": 3.0}
    naive = {**run, "applied_per_s": 40.0}
    text = "\n".join(report.lines({"apply": {"backlog": 120, "runs": [run], "naive": naive}}))
    assert "A apply from a backlog of 120 realistic events" in text and "1 worker(s): 120 events/s" in text
    assert "3.0x naive" in text


def test_the_fanout_rows_carry_the_marker_the_live_part_reads():
    from bench.fanout import _row
    from bench.parts import MARKER

    html = _row(3, "F300x3")
    assert MARKER.findall(html) == ["F300x3"]
    assert html.startswith('<tbody hx-swap-oob="afterbegin:#event-rows"><tr id="event-10000003"')
