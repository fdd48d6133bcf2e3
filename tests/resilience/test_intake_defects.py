"""Issue 23's intake defects, each reproduced: signed deliveries the intake answered 5xx, now stored or refused clearly."""
from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey

from portal import health
from tests.conftest import SIGNING_KEY, sign
from webhooks import verification
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
GOOD_KEY = base64.b64encode(bytes(SIGNING_KEY.verify_key)).decode()


def _post(client, body: bytes, **headers):
    return client.post("/webhooks/telnyx/", data=body, content_type="application/json", **{**sign(body), **headers})


@pytest.mark.resilience("Bad input: signed webhook bodies")
def test_occurred_at_without_a_time_zone_is_stored_as_utc(client, event_doc, resilience):
    document = event_doc("call.initiated", id="naive-time", occurred_at="2026-12-04T23:00:00")
    response = _post(client, json.dumps(document).encode())
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))

    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.get(event_id="naive-time").occurred_at == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)


@pytest.mark.resilience("Bad input: signed webhook bodies")
@pytest.mark.parametrize("value", ["2026-13-45T25:61:00", "0000-01-01T00:00:00", "9999-12-31T23:59:59-23:59"])
def test_an_impossible_occurred_at_is_stored_without_a_time(client, event_doc, resilience, value):
    document = event_doc("call.initiated", id="impossible-time")
    document["data"]["occurred_at"] = value
    response = _post(client, json.dumps(document).encode())
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))

    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.filter(event_id="impossible-time").count() == 1


@pytest.mark.resilience("Bad input: signed webhook bodies")
@pytest.mark.parametrize("depth", [5_000, 200])
def test_a_signed_body_nested_thousands_deep_is_refused_400(client, resilience, depth):
    nested = "[" * depth + "]" * depth
    body = ('{"data": {"id": "deep", "event_type": "call.initiated", "payload": {"x": ' + nested + "}}}").encode()
    response = _post(client, body)
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))

    assert response.status_code == 400, response.content
    assert response.json()["reason"] == "too_deep"
    assert WebhookEvent.objects.count() == 0


@pytest.mark.resilience("Bad input: signed webhook bodies")
def test_a_nul_character_in_a_signed_event_is_stored_and_applied(client, event_doc, resilience, django_capture_on_commit_callbacks):
    """PostgreSQL's jsonb and text refuse U+0000: the event used to be answered 503 on every redelivery."""
    document = event_doc("call.initiated", id="nul-event", caller_id_name="Al\u0000ice", call_control_id="v3:nul\u0000")
    body = json.dumps(document).encode()
    assert b"\\u0000" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, body)
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))
    stored = WebhookEvent.objects.filter(event_id="nul-event").first()
    resilience.lost(int(stored is None))

    assert response.status_code == 200, response.content
    assert stored.raw_body == body.decode()  # exactly as received and verified
    assert stored.payload["caller_id_name"] == "Al\ufffdice"  # the column holds what it can
    assert stored.call_control_id == "v3:nul\ufffd"
    assert stored.status == WebhookEvent.Status.PROCESSED, stored.last_error


@pytest.mark.resilience("Bad input: signed webhook bodies")
@pytest.mark.parametrize("fragment, expected", [
    ('"\\ud800 lone"', "\ufffd lone"),  # a lone surrogate: no UTF-8 for the database
    ("1e400", None),  # infinity: jsonb has none
    ("NaN", None),
])
def test_values_no_column_can_hold_are_cleaned_not_refused(client, resilience, fragment, expected):
    body = ('{"data": {"id": "odd-value", "event_type": "call.initiated", "payload": {"v": ' + fragment + "}}}").encode()
    response = _post(client, body)
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))

    assert response.status_code == 200, response.content
    stored = WebhookEvent.objects.get(event_id="odd-value")
    assert stored.payload == {"v": expected}
    assert stored.raw_body == body.decode()


@pytest.mark.resilience("Bad input: signed webhook bodies")
def test_a_body_that_is_not_utf8_is_refused_400(client, resilience):
    body = json.dumps({"data": {"id": "utf16", "event_type": "call.initiated", "payload": {}}}).encode("utf-16")
    response = _post(client, body)
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))

    assert response.status_code == 400, response.content
    assert response.json()["reason"] == "malformed_body"
    assert WebhookEvent.objects.count() == 0


@pytest.mark.resilience("Bad input: TELNYX_PUBLIC_KEY")
def test_a_malformed_public_key_entry_is_reported_and_the_good_keys_still_verify(client, settings, event_doc, resilience, caplog):
    settings.TELNYX_PUBLIC_KEY = f"not-a-key!, {base64.b64encode(b'short').decode()}, {GOOD_KEY}"
    with caplog.at_level(logging.ERROR, logger="webhooks.verification"):
        problems = verification.check_public_keys()
    response = _post(client, json.dumps(event_doc("call.initiated", id="good-key")).encode())
    forged = _post(client, json.dumps(event_doc("call.initiated", id="forged")).encode(),
                   **sign(json.dumps(event_doc("call.initiated", id="forged")).encode(), key=SigningKey.generate()))
    check = health.run_check("webhook_keys", health.check_webhook_keys)
    resilience.tried(2)
    resilience.server_errors(sum(r.status_code >= 500 for r in (response, forged)))

    assert response.status_code == 200, response.content
    assert forged.status_code == 400 and forged.json()["reason"] == "signature_mismatch"
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["good-key"]
    assert problems == ["TELNYX_PUBLIC_KEY entry 1 of 3 is not base64", "TELNYX_PUBLIC_KEY entry 2 of 3 is not a 32-byte Ed25519 key"]
    assert [r.getMessage() for r in caplog.records if r.name == "webhooks.verification"] == problems
    assert (check.ok, check.detail) == (False, {"error": "; ".join(problems)})


def test_public_keys_all_good_pass_the_readiness_check(settings):
    settings.TELNYX_PUBLIC_KEY = f"{GOOD_KEY},{base64.b64encode(bytes(SigningKey.generate().verify_key)).decode()}"
    assert health.run_check("webhook_keys", health.check_webhook_keys).ok is True
    settings.TELNYX_PUBLIC_KEY = ""
    assert health.run_check("webhook_keys", health.check_webhook_keys).detail == {"error": "TELNYX_PUBLIC_KEY is not set"}
