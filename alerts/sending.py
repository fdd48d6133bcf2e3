"""What a delivery sends: the message text, an e-mail through Django's mail, a signed webhook POST.

Webhook signature (README, "Alerts"): HMAC-SHA256 over `<timestamp>.<raw body>` with the channel's
secret, hex-encoded in `X-Portal-Signature` as `sha256=<hex>`, the Unix timestamp in `X-Portal-Timestamp`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from alerts.models import Alert, AlertChannel, AlertDelivery

SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
VERBS = {"fired": "FIRING", "acknowledged": "ACKNOWLEDGED", "resolved": "RESOLVED", "test": "TEST"}


class SendFailed(Exception):
    """The channel refused or could not be reached; `retry` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool, status: int | None = None):
        super().__init__(message)
        self.retry, self.status = retry, status


def alert_link(alert: Alert | None) -> str:
    """The page to open: the alert's queue, or the Alerts page (absolute when PORTAL_BASE_URL is set)."""
    if alert is None:
        path = reverse("alert-list")
    elif alert.scope.startswith("queue:"):
        path = reverse("queue-detail", args=[alert.where])
    else:
        path = reverse("alert-detail", args=[alert.pk])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def message(delivery: AlertDelivery) -> dict:
    """The JSON a webhook receives (its `text` is what Slack and Teams show) and the e-mail's subject and body."""
    alert, verb = delivery.alert, VERBS[delivery.event]
    link = alert_link(alert)
    if alert is None:
        text = f"[TEST] Alert channel {delivery.channel.name} works. {link}"
        return {"text": text, "event": "test", "subject": f"[portal] Test of alert channel {delivery.channel.name}",
                "alert": None, "link": link}
    lines = [f"[{alert.severity.upper()}] {verb}: {alert.rule_name} — {alert.summary}."]
    if delivery.event == AlertDelivery.Event.ACKNOWLEDGED and alert.acknowledged_by_id:
        lines.append(f"Acknowledged by {alert.acknowledged_by.get_username()}" + (f": {alert.note}" if alert.note else "."))
    if delivery.event == AlertDelivery.Event.RESOLVED and alert.duration_secs is not None:
        lines.append(f"Lasted {alert.duration_secs} s.")
    lines.append(link)
    return {
        "text": " ".join(lines),
        "event": delivery.event,
        "subject": f"[portal] {verb} {alert.severity}: {alert.rule_name} ({alert.where})",
        "link": link,
        "alert": {
            "id": alert.pk, "rule": alert.rule_name, "status": alert.status, "severity": alert.severity,
            "metric": alert.metric, "operator": alert.operator, "threshold": alert.threshold, "value": alert.value,
            "scope": alert.scope, "queue": alert.where if alert.scope.startswith("queue:") else None,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `timestamp.body` under `secret`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send_webhook(channel: AlertChannel, secret: str, content: dict) -> int:
    """POST the message; returns the HTTP status. 5xx, 429 and network errors may be retried, other 4xx not."""
    body = json.dumps({k: v for k, v in content.items() if k != "subject"}, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    try:
        response = httpx.post(channel.target.strip(), content=body, headers=headers,
                              timeout=settings.ALERTS_WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise SendFailed(f"could not reach the webhook ({type(exc).__name__})", retry=True) from None
    if response.status_code >= 300:
        retry = response.status_code >= 500 or response.status_code == 429
        raise SendFailed(f"the webhook answered {response.status_code}", retry=retry, status=response.status_code)
    return response.status_code


def send_email(channel: AlertChannel, content: dict) -> None:
    """One message to every address of the channel, through EMAIL_BACKEND (SMTP in production)."""
    recipients = [a.strip() for a in channel.target.replace(";", ",").split(",") if a.strip()]
    try:
        send_mail(content["subject"], content["text"], None, recipients, fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - SMTP errors and refused connections are retried alike
        raise SendFailed(f"the mail server refused or could not be reached ({type(exc).__name__}: {exc})"[:500],
                         retry=True) from None
