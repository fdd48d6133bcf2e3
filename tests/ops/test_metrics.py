"""/metrics: values move by exactly the traffic sent, across processes; access by token or loopback only."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from ops.models import Heartbeat
from portal.commands import services as command_services
from portal.models import Command
from queues.models import Queue, QueuedCall
from tests.conftest import sign
from tests.ops.conftest import total
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_three_signed_webhooks_and_one_refused_move_the_counters_by_three_and_one(
    scrape, post_webhook, event_doc, client
):
    before = scrape()
    for n in range(3):
        assert post_webhook(event_doc("call.initiated", id=f"metrics-ev-{n}")).status_code == 200
    body = json.dumps(event_doc("call.answered", id="metrics-forged")).encode()
    forged = {**sign(body), "HTTP_TELNYX_TIMESTAMP": str(int(sign(body)["HTTP_TELNYX_TIMESTAMP"]) + 1)}
    assert client.post("/webhooks/telnyx/", data=body, content_type="application/json", **forged).status_code == 400
    after = scrape()

    def delta(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("portal_webhooks_received_total") == 3
    assert delta("portal_webhooks_received_total", event_type="call.initiated") == 3
    assert delta("portal_webhooks_refused_total") == 1
    assert delta("portal_webhooks_refused_total", reason="signature_mismatch") == 1
    assert delta("portal_webhooks_duplicates_total") == 0
    assert delta("portal_webhook_intake_seconds_count") == 4
    # Stored events were applied once each (tasks run on commit in tests), with their lag observed.
    assert WebhookEvent.objects.filter(event_id__startswith="metrics-ev-").exclude(status="pending").count() == 3
    assert delta("portal_events_applied_total", event_type="call.initiated") == 3
    assert delta("portal_event_processing_lag_seconds_count") == 3


def test_a_redelivery_counts_as_received_and_duplicate(scrape, post_webhook, event_doc):
    post_webhook(event_doc("call.hangup", id="metrics-dup"))
    before = scrape()
    assert post_webhook(event_doc("call.hangup", id="metrics-dup")).json()["stored"] is False
    after = scrape()
    assert total(after, "portal_webhooks_received_total") - total(before, "portal_webhooks_received_total") == 1
    assert total(after, "portal_webhooks_duplicates_total", event_type="call.hangup") - total(
        before, "portal_webhooks_duplicates_total", event_type="call.hangup") == 1
    assert WebhookEvent.objects.filter(event_id="metrics-dup").count() == 1


def test_commands_count_by_action_and_outcome_and_telnyx_errors_by_status(
    scrape, telnyx, operator, django_capture_on_commit_callbacks
):
    telnyx.post("/conferences/conf-ok/actions/mute").respond(200, json={"data": {"result": "ok"}})
    telnyx.post("/conferences/conf-bad/actions/mute").respond(
        422, json={"errors": [{"title": "Invalid parameter", "detail": "participants is invalid"}]}
    )
    before = scrape()
    for target in ("conf-ok", "conf-bad"):
        with django_capture_on_commit_callbacks(execute=True):
            command_services.command_issue(
                action_name="conference.mute", target=target, params={}, user=operator, door=Command.Door.API
            )
    after = scrape()

    def delta(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("portal_commands_total", action="conference.mute", outcome="succeeded") == 1
    assert delta("portal_commands_total", action="conference.mute", outcome="failed") == 1
    assert delta("portal_command_seconds_count", action="conference.mute") == 2
    assert delta("portal_telnyx_errors_total", status="422") == 1
    assert delta("portal_telnyx_errors_total") == 1


def test_counters_from_another_process_are_summed_survive_its_exit_and_fold_into_an_archive(scrape):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    before = total(scrape(), "portal_webhooks_refused_total", reason="bad_base64")
    code = (
        "import os, django; django.setup(); from portal import metrics; "
        "[metrics.webhook_refused('bad_base64', metrics.clock()) for _ in range(2)]; print(os.getpid())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60,
                          capture_output=True, text=True)
    child = done.stdout.split()[-1]
    assert (directory / f"counter_{child}.db").exists()  # the exited process left its counts behind

    after = scrape()
    assert total(after, "portal_webhooks_refused_total", reason="bad_base64") - before == 2
    # Its files were folded into the archive by that scrape: the total did not move, and does not on the next.
    assert not (directory / f"counter_{child}.db").exists() and not (directory / f"histogram_{child}.db").exists()
    assert (directory / "counter_archive.db").exists()
    again = scrape()
    assert total(again, "portal_webhooks_refused_total", reason="bad_base64") - before == 2
    assert total(again, "portal_webhook_intake_seconds_count") == total(after, "portal_webhook_intake_seconds_count")


def test_the_worker_machine_exporter_serves_counters_with_the_same_access_rule(settings):
    from wsgiref.util import setup_testing_defaults

    from portal.management.commands.serve_metrics import application

    def call(path="/metrics", **environ):
        setup_testing_defaults(environ)
        environ["PATH_INFO"] = path
        answered = {}
        body = b"".join(application(environ, lambda status, headers: answered.update(status=status)))
        return answered["status"], body.decode()

    settings.METRICS_TOKEN = ""
    status, body = call(REMOTE_ADDR="127.0.0.1")
    assert status == "200 OK" and "# TYPE portal_webhooks_refused_total counter" in body
    assert "portal_database_gauges_up" not in body  # state gauges come from the web's /metrics only
    assert call(REMOTE_ADDR="10.0.0.8")[0] == "403 Forbidden"
    assert call("/", REMOTE_ADDR="127.0.0.1")[0] == "404 Not Found"
    settings.METRICS_TOKEN = "tok-xyz-123"
    assert call(REMOTE_ADDR="127.0.0.1")[0] == "401 Unauthorized"
    assert call(REMOTE_ADDR="10.0.0.8", HTTP_AUTHORIZATION="Bearer tok-xyz-123")[0] == "200 OK"


def test_state_gauges_are_read_from_the_database(scrape, alive, settings):
    now = timezone.now()
    support = Queue.objects.create(name="support")
    QueuedCall.objects.create(queue=support, call_control_id="c1", enqueued_at=now - timezone.timedelta(seconds=90))
    QueuedCall.objects.create(queue=support, call_control_id="c2", enqueued_at=now - timezone.timedelta(seconds=10))
    QueuedCall.objects.create(queue=support, call_control_id="c3", enqueued_at=now - timezone.timedelta(seconds=500),
                              left_at=now)
    WebhookEvent.objects.create(event_id="pending-1", event_type="call.answered", raw_body="{}", payload={})
    WebhookEvent.objects.filter(event_id="pending-1").update(received_at=now - timezone.timedelta(seconds=45))
    Command.objects.create(action="conference.mute", target="c", status=Command.Status.QUEUED)
    Command.objects.create(action="conference.mute", target="c", status=Command.Status.RUNNING)
    Command.objects.create(action="conference.mute", target="c", status=Command.Status.SUCCEEDED)
    alive()
    Heartbeat.objects.create(kind=Heartbeat.Kind.WEB, name="web1:1", seen_at=now, detail={"sockets": 3})
    Heartbeat.objects.create(kind=Heartbeat.Kind.WEB, name="web2:2", seen_at=now, detail={"sockets": 2})
    Heartbeat.objects.create(kind=Heartbeat.Kind.WEB, name="dead:3", seen_at=now - timezone.timedelta(minutes=5),
                             detail={"sockets": 40})
    from portal.sync import record_sync

    record_sync("conferences", "ok", created=1)

    samples = scrape()
    assert total(samples, "portal_database_gauges_up") == 1
    assert total(samples, "portal_queue_callers_waiting", queue="support") == 2
    assert 90 <= total(samples, "portal_queue_longest_wait_seconds", queue="support") < 120
    assert total(samples, "portal_events_pending") == 1
    assert 45 <= total(samples, "portal_events_oldest_pending_seconds") < 75
    lagging = str(WebhookEvent.objects.get().partition)  # one sample per drain partition (issue 25)
    assert 45 <= total(samples, "portal_events_oldest_pending_seconds", partition=lagging) < 75
    others = [value for (name, labels), value in samples.items()
              if name == "portal_events_oldest_pending_seconds" and dict(labels)["partition"] != lagging]
    assert len(others) == settings.WEBHOOK_PARTITIONS - 1 and set(others) == {0}
    assert total(samples, "portal_commands_backlog", status="queued") == 1
    assert total(samples, "portal_commands_backlog", status="running") == 1
    assert total(samples, "portal_live_sockets") == 5
    assert total(samples, "portal_workers_alive") == 1
    assert total(samples, "portal_task_queue_consumers", queue="downloads") == 1
    assert total(samples, "portal_beat_heartbeat_age_seconds") < 30
    assert total(samples, "portal_sync_last_run_timestamp_seconds", name="conferences", outcome="ok") > now.timestamp() - 5


def test_recordings_waiting_for_download_are_counted_by_status(scrape):
    from recordings.models import Recording

    if not hasattr(Recording, "Status"):
        pytest.fail("recordings capture status is required for this gauge")
    Recording.objects.create(recording_id="r-saved", status="saved")
    Recording.objects.create(recording_id="r-down", status="downloading")
    Recording.objects.create(recording_id="r-failed", status="failed")
    Recording.objects.create(recording_id="r-telnyx-failed", status="failed", telnyx_error="call ended")
    Recording.objects.create(recording_id="r-stored", status="stored")
    samples = scrape()
    assert total(samples, "portal_recordings_waiting_download", status="saved") == 1
    assert total(samples, "portal_recordings_waiting_download", status="downloading") == 1
    assert total(samples, "portal_recordings_waiting_download", status="failed") == 1


# --- Access -------------------------------------------------------------------------------------
def test_with_a_token_only_the_bearer_gets_metrics(client, settings):
    settings.METRICS_TOKEN = "tok-123456"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    refused = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer wrong")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert b"portal_" not in refused.content
    allowed = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer tok-123456")
    assert allowed.status_code == 200
    assert allowed["Content-Type"].startswith("text/plain")
    assert b"portal_webhooks_received_total" in allowed.content or b"portal_webhooks_received" in allowed.content


@pytest.mark.parametrize("address", ["10.0.0.5", "203.0.113.9", "::ffff:10.0.0.5"])
def test_without_a_token_other_addresses_are_refused(client, settings, address):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 403
    assert b"portal_" not in response.content


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_without_a_token_loopback_gets_metrics_without_login(client, settings, address):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 200
    assert b"# TYPE portal_webhooks_refused_total counter" in response.content


def test_a_proxied_request_is_not_loopback(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert response.status_code == 403


def test_django_requests_are_counted_by_view(scrape, client, administrator):
    before = scrape()
    client.force_login(administrator)
    assert client.get("/").status_code == 200
    after = scrape()
    name = "django_http_requests_latency_seconds_by_view_method_count"
    assert total(after, name, view="dashboard", method="GET") - total(before, name, view="dashboard", method="GET") == 1
