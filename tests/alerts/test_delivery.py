"""Delivery: signed webhooks (verified with the secret), e-mail through a real SMTP server, retries capped (issue 26)."""
import hashlib
import hmac
import json
import socket
from datetime import timedelta

import httpx
import pytest
import respx
from aiosmtpd.controller import Controller
from django.utils import timezone

from alerts import services
from alerts.evaluation import evaluate
from alerts.models import AlertDelivery
from alerts.sending import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.alerts.factories import AlertRuleFactory
from tests.factories import UserFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.test/alerts"


def verify(request: httpx.Request, secret: str) -> dict:
    """What a receiver does (README's snippet): recompute the HMAC over timestamp.body and compare."""
    timestamp, body = request.headers[TIMESTAMP_HEADER], request.content
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], expected)
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    return json.loads(body)


def webhook_channel(admin, secret="s3cret", **extra):
    return services.alert_channel_create(user=admin, name="slack", kind="webhook", target=HOOK, secret=secret, **extra)


@pytest.fixture
def admin():
    return UserFactory(username="boss", role="Administrator")


def fire_long_wait(channel, *, severity="critical"):
    queue = QueueFactory(name="support")
    caller = QueuedCallFactory(queue=queue, enqueued_at=timezone.now() - timedelta(seconds=200))
    AlertRuleFactory(name="Long wait", metric="longest_wait_secs", threshold=60, for_secs=0, severity=severity,
                     channels=[channel])
    return caller


def test_firing_and_resolving_post_signed_json_with_a_text_field(admin, django_capture_on_commit_callbacks):
    channel = webhook_channel(admin)
    caller = fire_long_wait(channel)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(HOOK).respond(200)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate()
        fired = verify(route.calls.last.request, "s3cret")
        assert fired["event"] == "fired"
        assert fired["text"].startswith("[CRITICAL] FIRING: Long wait")
        assert "support" in fired["text"] and "/queues/support/" in fired["link"]
        assert fired["alert"]["queue"] == "support" and fired["alert"]["status"] == "open"

        caller.left_at, caller.leave_reason = timezone.now(), "bridged"
        caller.save()
        with django_capture_on_commit_callbacks(execute=True):
            evaluate()
        resolved = verify(route.calls.last.request, "s3cret")
    assert resolved["event"] == "resolved" and "RESOLVED" in resolved["text"] and "Lasted" in resolved["text"]
    assert route.call_count == 2
    assert list(AlertDelivery.objects.values_list("event", "status", "attempts")) == [
        ("resolved", "sent", 1), ("fired", "sent", 1)]


def test_a_tampered_body_or_another_secret_does_not_verify(admin, django_capture_on_commit_callbacks):
    channel = webhook_channel(admin)
    fire_long_wait(channel)
    with respx.mock() as mock:
        route = mock.post(HOOK).respond(204)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate()
    request = route.calls.last.request
    with pytest.raises(AssertionError):
        verify(request, "another secret")
    tampered = httpx.Request("POST", HOOK, headers=request.headers, content=request.content.replace(b"support", b"sales"))
    with pytest.raises(AssertionError):
        verify(tampered, "s3cret")


def test_a_failing_webhook_is_retried_with_backoff_and_gives_up_after_the_cap(admin, settings,
                                                                            django_capture_on_commit_callbacks):
    settings.ALERTS_DELIVERY_MAX_ATTEMPTS = 3
    channel = webhook_channel(admin)
    fire_long_wait(channel)
    with respx.mock() as mock:
        route = mock.post(HOOK).respond(503)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate()
    delivery = AlertDelivery.objects.get()
    assert route.call_count == 3
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 3, 503)
    assert "503" in delivery.last_error


def test_a_4xx_is_not_retried_and_a_retry_that_succeeds_is_logged_sent(admin, django_capture_on_commit_callbacks):
    channel = webhook_channel(admin)
    fire_long_wait(channel)
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(side_effect=[httpx.Response(404)])
        with django_capture_on_commit_callbacks(execute=True):
            evaluate()
    assert route.call_count == 1
    assert AlertDelivery.objects.get().status == "failed"

    with respx.mock() as mock:
        route = mock.post(HOOK).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200)])
        with django_capture_on_commit_callbacks(execute=True):
            services.alert_channel_send_test(channel=channel, user=admin)
    test = AlertDelivery.objects.get(event="test")
    assert route.call_count == 2 and (test.status, test.attempts) == ("sent", 2)
    assert json.loads(route.calls.last.request.content)["text"].startswith("[TEST] Alert channel slack works.")


def test_acknowledging_sends_only_to_channels_that_ask(admin, django_capture_on_commit_callbacks):
    quiet = webhook_channel(admin)
    loud = services.alert_channel_create(user=admin, name="teams", kind="webhook", target=HOOK + "/ack", secret="x",
                                         send_on_acknowledge=True)
    fire_long_wait(quiet)
    from alerts.models import Alert, AlertRule

    AlertRule.objects.get(name="Long wait", is_default=False).channels.add(loud)
    with respx.mock() as mock:
        mock.post(HOOK).respond(200)
        ack_route = mock.post(HOOK + "/ack").respond(200)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate()
        with django_capture_on_commit_callbacks(execute=True):
            services.alert_acknowledge(alert=Alert.objects.get(), user=admin, note="looking")
    body = verify(ack_route.calls.last.request, "x")
    assert body["event"] == "acknowledged" and "Acknowledged by boss: looking" in body["text"]
    assert AlertDelivery.objects.filter(event="acknowledged").count() == 1


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.DEFAULT_FROM_EMAIL = "portal@ops.example"
    yield inbox
    controller.stop()


def test_an_email_channel_sends_through_a_real_smtp_server(admin, smtp, django_capture_on_commit_callbacks):
    channel = services.alert_channel_create(user=admin, name="on-call", kind="email",
                                            target="lead@ops.example, backup@ops.example")
    fire_long_wait(channel, severity="warning")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate()
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.mail_from == "portal@ops.example"
    assert sorted(envelope.rcpt_tos) == ["backup@ops.example", "lead@ops.example"]
    text = envelope.content.decode()
    assert "Subject: [portal] FIRING warning: Long wait (support)" in text
    assert "[WARNING] FIRING: Long wait" in text and "/queues/support/" in text
    assert AlertDelivery.objects.get().status == "sent"


def test_an_unreachable_smtp_server_is_retried_then_logged_failed(admin, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    settings.ALERTS_DELIVERY_MAX_ATTEMPTS = 2
    channel = services.alert_channel_create(user=admin, name="mail", kind="email", target="lead@ops.example")
    with django_capture_on_commit_callbacks(execute=True):
        services.alert_channel_send_test(channel=channel, user=admin)
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "mail server" in delivery.last_error


def test_the_secret_is_stored_sealed(admin):
    channel = webhook_channel(admin, secret="very-secret-value")
    channel.refresh_from_db()
    assert "very-secret-value" not in json.dumps(channel.sealed_secret)
    assert channel.has_secret


def test_a_delivery_whose_task_was_lost_is_queued_again_by_the_evaluation(admin, django_capture_on_commit_callbacks):
    from alerts.tasks import evaluate_alerts

    channel = webhook_channel(admin)
    lost = AlertDelivery.objects.create(channel=channel, event="test")  # stored, its task never queued
    AlertDelivery.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    fresh = AlertDelivery.objects.create(channel=channel, event="test")  # its task may still be on its way
    with respx.mock() as mock:
        route = mock.post(HOOK).respond(200)
        assert evaluate_alerts.apply().get()["requeued"] == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert (lost.status, lost.attempts, route.call_count) == ("sent", 1, 1)
    assert fresh.status == "pending"
