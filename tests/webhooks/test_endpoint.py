"""The webhook endpoint: verify, store once, queue; refuse forged, stale and malformed deliveries."""
import base64
import json
import time

import pytest
from nacl.signing import SigningKey

from tests.conftest import EVENTS_DIR, load_event, sign
from webhooks.models import WebhookEvent
from webhooks.rejections import rejection_counts

pytestmark = pytest.mark.django_db
ALL_TYPES = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def test_there_is_a_fixture_for_each_of_the_46_event_types():
    assert len(ALL_TYPES) == 46


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_every_event_type_is_accepted_stored_and_processed(post_webhook, event_type):
    document = load_event(event_type)
    response = post_webhook(document)
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get()
    data = document.get("data", document)
    assert event.event_id == data["id"]
    assert event.event_type == event_type
    assert event.payload == data["payload"]
    assert json.loads(event.raw_body) == document
    # Processing ran after commit: handled types are processed, the rest ignored; none pending or failed.
    assert event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED), event.last_error


def test_resource_keys_are_extracted_for_lookup(post_webhook):
    post_webhook(load_event("call.enqueued"))
    event = WebhookEvent.objects.get()
    assert (event.call_control_id, event.call_session_id, event.queue_name) == ("v3:cc-alice", "session-1", "support")
    post_webhook(load_event("conference.recording.saved"))
    assert WebhookEvent.objects.get(event_type="conference.recording.saved").recording_id == "rec-1"
    assert WebhookEvent.objects.filter(conference_id="conf-1").count() == 1


def test_bare_form_without_data_wrapper_is_accepted(post_webhook):
    document = load_event("conference.floor.changed")
    assert "data" not in document
    assert post_webhook(document).status_code == 200
    assert WebhookEvent.objects.get().event_type == "conference.floor.changed"


def test_duplicate_delivery_is_stored_once_and_applied_once(post_webhook, event_doc):
    from calls.models import Call

    document = event_doc("call.initiated")
    assert post_webhook(document).status_code == 200
    assert post_webhook(document).status_code == 200
    assert WebhookEvent.objects.count() == 1
    event = WebhookEvent.objects.get()
    assert event.attempts == 1
    assert Call.objects.count() == 1


def test_processing_waits_for_commit(client, django_capture_on_commit_callbacks):
    body = json.dumps(load_event("call.initiated")).encode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/webhooks/telnyx/", data=body, content_type="application/json", **sign(body))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PENDING
    assert len(callbacks) >= 1
    for callback in callbacks:
        callback()
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def _post_raw(client, body: bytes, headers: dict):
    return client.post("/webhooks/telnyx/", data=body, content_type="application/json", **headers)


BODY = json.dumps(load_event("call.initiated")).encode()


@pytest.mark.parametrize(
    "reason, make_headers",
    [
        ("missing_headers", lambda now: {}),
        ("missing_headers", lambda now: {"HTTP_TELNYX_TIMESTAMP": str(now)}),
        ("bad_base64", lambda now: {"HTTP_TELNYX_SIGNATURE_ED25519": "%%%not-base64", "HTTP_TELNYX_TIMESTAMP": str(now)}),
        ("bad_signature_length", lambda now: {"HTTP_TELNYX_SIGNATURE_ED25519": base64.b64encode(b"short").decode(),
                                              "HTTP_TELNYX_TIMESTAMP": str(now)}),
        ("bad_timestamp", lambda now: {**sign(BODY, timestamp=now), "HTTP_TELNYX_TIMESTAMP": "yesterday"}),
        ("stale_timestamp", lambda now: sign(BODY, timestamp=now - 400)),
        ("stale_timestamp", lambda now: sign(BODY, timestamp=now + 400)),
        ("signature_mismatch", lambda now: sign(BODY, timestamp=now, key=SigningKey.generate())),
        ("signature_mismatch", lambda now: {**sign(BODY, timestamp=now), "HTTP_TELNYX_TIMESTAMP": str(now - 1)}),
    ],
)
def test_forged_or_broken_signatures_are_refused_and_leave_no_trace(client, reason, make_headers):
    # Headers are built when the test runs, not when it is collected: a suite that reaches this test
    # minutes after collection would otherwise send a "future" timestamp that is no longer 400 s ahead.
    response = _post_raw(client, BODY, make_headers(int(time.time())))
    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert WebhookEvent.objects.count() == 0
    assert rejection_counts()[reason] == 1


def test_tampered_body_is_refused(client):
    headers = sign(BODY)
    tampered = BODY.replace(b"incoming", b"outgoing")
    assert tampered != BODY
    assert _post_raw(client, tampered, headers).status_code == 400
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"data": {"event_type": "call.initiated", "payload": {}}}).encode(),
        json.dumps({"data": {"id": "x", "payload": {}}}).encode(),
        json.dumps({"data": {"id": "x", "event_type": "call.initiated", "payload": "nope"}}).encode(),
        json.dumps({"data": "nope"}).encode(),
    ],
)
def test_malformed_bodies_are_refused_even_when_signed(client, body):
    response = _post_raw(client, body, sign(body))
    assert response.status_code == 400
    assert response.json()["reason"] == "malformed_body"
    assert WebhookEvent.objects.count() == 0


def test_oversized_body_gets_413(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    document = load_event("call.initiated")
    document["data"]["payload"]["padding"] = "x" * 2000
    body = json.dumps(document).encode()
    response = _post_raw(client, body, sign(body))
    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0
    assert rejection_counts()["too_large"] == 1


def test_rotated_keys_are_all_accepted(client, settings):
    old_key = SigningKey.generate()
    settings.TELNYX_PUBLIC_KEY = base64.b64encode(bytes(old_key.verify_key)).decode() + "," + settings.TELNYX_PUBLIC_KEY
    assert _post_raw(client, BODY, sign(BODY, key=old_key)).status_code == 200
    other = json.dumps(load_event("call.answered")).encode()
    assert _post_raw(client, other, sign(other)).status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_only_post_is_allowed(client):
    assert client.get("/webhooks/telnyx/").status_code == 405


def test_database_outage_answers_503_so_telnyx_redelivers(client, monkeypatch):
    from django.db import OperationalError

    from webhooks import store

    def broken(**kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(store, "event_store", broken)
    assert _post_raw(client, BODY, sign(BODY)).status_code == 503


def test_broker_outage_still_stores_and_answers_200(post_webhook, monkeypatch):
    from kombu.exceptions import OperationalError

    from webhooks.tasks import process_pending

    def broker_down(*args, **kwargs):
        raise OperationalError("broker unreachable")

    monkeypatch.setattr(process_pending, "delay", broker_down)
    assert post_webhook(load_event("call.initiated")).status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PENDING
    # The failed send clears its flag, so the next delivery tries the broker again at once.
    monkeypatch.undo()
    assert post_webhook(load_event("call.answered")).status_code == 200
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}


def test_stored_event_is_published_to_the_events_page(post_webhook, listen):
    listen("events")
    post_webhook(load_event("call.initiated"))
    published = listen.received("events")
    assert any('id="event-' in html and "call.initiated" in html for html in published)


def test_timestamp_window_is_300_seconds_each_way():
    from webhooks.verification import WebhookRejected, verify_signature

    now = 1_800_000_000
    for offset, accepted in [(-300, True), (300, True), (-301, False), (301, False)]:
        headers = {k.removeprefix("HTTP_").replace("_", "-").lower(): v for k, v in sign(BODY, timestamp=now + offset).items()}
        if accepted:
            verify_signature(BODY, headers, now=now)
        else:
            with pytest.raises(WebhookRejected) as rejected:
                verify_signature(BODY, headers, now=now)
            assert rejected.value.reason == "stale_timestamp"
