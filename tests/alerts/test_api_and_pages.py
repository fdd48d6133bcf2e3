"""The API, the pages, the banner, CSV and Prometheus for alerts (issue 26)."""
import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert, AlertChannel, AlertRule
from tests.alerts.factories import AlertChannelFactory, AlertRuleFactory, client_as
from tests.factories import UserFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db


def api(client, method, path, body=None):
    return getattr(client, method)(path, json.dumps(body) if body is not None else None, content_type="application/json")


def test_rules_are_created_with_a_queue_name_and_channel_ids_and_validated():
    admin = client_as("Administrator")
    QueueFactory(name="support")
    channel = AlertChannelFactory()
    response = api(admin, "post", "/api/v1/alert-rules/", {
        "name": "Slow support", "metric": "longest_wait_secs", "queue": "support", "operator": ">", "threshold": 45,
        "for_secs": 20, "severity": "critical", "channels": [channel.pk]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["queue"], body["channels"], body["for_secs"], body["enabled"]) == ("support", [channel.pk], 20, True)
    rule = AlertRule.objects.get(pk=body["id"])
    assert rule.queue.name == "support" and list(rule.channels.all()) == [channel]

    bad = api(admin, "post", "/api/v1/alert-rules/", {"name": "x", "metric": "failed_events", "queue": "support",
                                                      "operator": "=", "threshold": "many", "colour": "red"})
    assert bad.status_code == 400
    fields = bad.json()["extra"]["fields"]
    assert {"operator", "threshold"} <= set(fields) or "colour" in fields
    system_with_queue = api(admin, "post", "/api/v1/alert-rules/", {"name": "x", "metric": "failed_events",
                                                                    "queue": "support", "threshold": 1})
    assert system_with_queue.status_code == 400 and "queue" in system_with_queue.json()["extra"]["fields"]

    patched = api(admin, "patch", f"/api/v1/alert-rules/{rule.pk}/", {"enabled": False, "channels": []})
    assert patched.status_code == 200 and patched.json()["enabled"] is False and patched.json()["channels"] == []
    assert api(admin, "delete", f"/api/v1/alert-rules/{rule.pk}/").status_code == 204
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_channel_secret_is_write_only_and_never_echoed():
    admin = client_as("Administrator")
    created = api(admin, "post", "/api/v1/alert-channels/", {"name": "slack", "kind": "webhook",
                                                            "target": "https://hooks.example.test/x", "secret": "hush-123"})
    assert created.status_code == 201
    assert "hush-123" not in created.content.decode() and created.json()["has_secret"] is True
    pk = created.json()["id"]
    for response in (admin.get(f"/api/v1/alert-channels/{pk}/"), admin.get("/api/v1/alert-channels/"),
                     admin.get(f"/admin/alerts/alertchannel/{pk}/change/"), admin.get("/alerts/rules/")):
        assert response.status_code == 200
        assert "hush-123" not in response.content.decode()
    assert "hush-123" not in json.dumps(AlertChannel.objects.get(pk=pk).sealed_secret)
    bad = api(admin, "post", "/api/v1/alert-channels/", {"name": "m", "kind": "email", "target": "not-an-address"})
    assert bad.status_code == 400 and "target" in bad.json()["extra"]["fields"]
    bad_url = api(admin, "post", "/api/v1/alert-channels/", {"name": "w", "kind": "webhook", "target": "ftp:/x"})
    assert bad_url.status_code == 400


def test_alerts_are_listed_filtered_and_acknowledged_through_the_api(open_alert):
    viewer, operator = client_as("Viewer"), client_as("Operator")
    listed = viewer.get("/api/v1/alerts/?status=open&severity=critical&queue=support").json()
    assert [a["id"] for a in listed["results"]] == [open_alert.pk]
    assert listed["results"][0]["where"] == "support"
    assert viewer.get("/api/v1/alerts/?status=resolved").json()["results"] == []
    assert viewer.get("/api/v1/alerts/?status=maybe").status_code == 400
    assert viewer.get("/api/v1/alerts/?since=not-a-day").status_code == 400

    assert api(viewer, "post", f"/api/v1/alerts/{open_alert.pk}/acknowledge/", {"note": "x"}).status_code == 403
    done = api(operator, "post", f"/api/v1/alerts/{open_alert.pk}/acknowledge/", {"note": "calling more agents"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["acknowledged_by"], done.json()["note"]) == (
        "acknowledged", "operator", "calling more agents")
    again = api(operator, "post", f"/api/v1/alerts/{open_alert.pk}/acknowledge/", {})
    assert again.status_code == 400 and "status" in again.json()["extra"]["fields"]


def test_every_page_shows_the_banner_and_the_navigation_count(open_alert):
    viewer, operator = client_as("Viewer"), client_as("Operator")
    page = viewer.get("/calls/").content.decode()
    assert 'id="alert-banner"' in page and "Long wait here" in page and 'data-severity="critical"' in page
    assert 'href="/queues/support/"' in page
    assert 'id="alert-nav-count" class="nav-count has-open"' in page
    assert ",alerts\"" in page and "ws-connect" in page
    assert 'class="alert-ack"' not in page  # Viewers do not acknowledge
    assert 'class="alert-ack"' in operator.get("/calls/").content.decode()

    response = operator.post(f"/alerts/{open_alert.pk}/acknowledge/", {"note": "mine", "next": "/calls/"})
    assert response.status_code == 302 and response["Location"] == "/calls/"
    banner = viewer.get("/alerts/banner/").content.decode()
    assert "acknowledged by operator" in banner
    assert 'class="nav-count"' in banner  # nothing open any more: not red
    off_site = operator.post(f"/alerts/{open_alert.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert off_site["Location"] == f"/alerts/{open_alert.pk}/"


def test_the_alerts_page_filters_and_exports_csv(open_alert):
    viewer = client_as("Viewer")
    page = viewer.get("/alerts/?status=open")
    row = f'class="alert-row sev-critical" data-alert-id="{open_alert.pk}"'
    assert page.status_code == 200 and row in page.content.decode()
    assert row not in viewer.get("/alerts/?status=resolved").content.decode()
    assert viewer.get("/alerts/?severity=loud").status_code == 400
    exported = viewer.get("/alerts/?format=csv&status=open")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [(r["rule"], r["where"], r["status"], r["severity"]) for r in rows] == [
        ("Long wait here", "support", "open", "critical")]
    detail = viewer.get(f"/alerts/{open_alert.pk}/").content.decode()
    assert "Long wait here" in detail and "/queues/support/" in detail


def test_send_a_test_from_the_rules_page_is_for_administrators(django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    channel = AlertChannelFactory(kind="email", target="lead@ops.example")
    admin = client_as("Administrator")
    assert client_as("Supervisor").post(f"/alerts/channels/{channel.pk}/test/").status_code == 403
    assert "Send a test" not in client_as("Supervisor").get("/alerts/rules/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/alerts/channels/{channel.pk}/test/")
    assert response.status_code == 302
    from django.core import mail

    assert [m.to for m in mail.outbox] == [["lead@ops.example"]]
    assert 'data-event="test" data-delivery-status="sent"' in admin.get("/alerts/rules/").content.decode()


def test_prometheus_counts_open_alerts_by_severity_and_deliveries(open_alert, client, settings):
    from alerts.metrics import delivery_outcome

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_LOOPBACK = True
    delivery_outcome("webhook", "sent")
    text = client.get("/metrics").content.decode()
    assert 'portal_alerts_open{severity="critical"} 1.0' in text
    assert 'portal_alerts_open{severity="info"} 0.0' in text
    assert 'portal_alert_deliveries_total{kind="webhook",outcome="sent"}' in text


def test_firing_acknowledging_and_resolving_tell_open_pages_after_commit(listen, django_capture_on_commit_callbacks):
    listen("alerts")
    queue = QueueFactory(name="live")
    caller = QueuedCallFactory(queue=queue, enqueued_at=timezone.now() - timedelta(seconds=200))
    AlertRuleFactory(metric="callers_waiting", threshold=0, for_secs=0)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        evaluate()
    assert listen.received("alerts") == []  # nothing before commit
    for callback in pending:
        callback()
    fired = listen.received("alerts")
    assert len(fired) == 1 and 'data-refresh="alert-banner alert-nav-count' in fired[0]

    from alerts.services import alert_acknowledge

    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=Alert.objects.get(), user=UserFactory(username="op", role="Operator"))
    assert len(listen.received("alerts")) == 1
    caller.left_at, caller.leave_reason = timezone.now(), "bridged"
    caller.save()
    with django_capture_on_commit_callbacks(execute=True):
        evaluate()
    assert len(listen.received("alerts")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        evaluate()  # nothing changed: nothing published
    assert listen.received("alerts") == []


def test_the_live_banner_acknowledges_back_to_the_page_it_shows_on(open_alert):
    operator = client_as("Operator")
    banner = operator.get("/alerts/banner/", HTTP_REFERER="http://testserver/queues/support/?window=hour").content.decode()
    assert 'name="next" value="/queues/support/?window=hour"' in banner
    elsewhere = operator.get("/alerts/banner/", HTTP_REFERER="https://evil.example/x").content.decode()
    assert 'name="next" value="/alerts/"' in elsewhere


def test_acknowledging_refuses_an_unknown_field(open_alert):
    operator = client_as("Operator")
    response = api(operator, "post", f"/api/v1/alerts/{open_alert.pk}/acknowledge/", {"notes": "typo"})
    assert response.status_code == 400 and "notes" in response.json()["extra"]["fields"]
    open_alert.refresh_from_db()
    assert open_alert.status == "open"
