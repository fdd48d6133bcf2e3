"""GET /api/v1/events/ and /api/v1/events/{id}/: fields, every filter, pagination and permission."""
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import UserFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_event(event_type="call.initiated", minutes=0, **fields):
    """A stored event `minutes` after T0; received_at is set after insert (auto_now_add)."""
    fields.setdefault("payload", {"call_control_id": fields.get("call_control_id", "")})
    event = WebhookEvent.objects.create(
        event_id=f"evt-{WebhookEvent.objects.count() + 1}", event_type=event_type,
        occurred_at=T0 + timedelta(minutes=minutes) if minutes is not None else None, raw_body="{}", **fields,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=T0 + timedelta(minutes=minutes or 0, seconds=1))
    event.refresh_from_db()
    return event


@pytest.fixture
def api(client, viewer):
    client.force_login(viewer)

    def get(path="/api/v1/events/", **params):
        response = client.get(path, params)
        assert response.status_code == 200, response.content
        return response.json()

    return get


def ids(body):
    return [row["event_id"] for row in body["results"]]


def test_detail_returns_the_documented_fields_by_either_id(api):
    event = make_event(
        "conference.created", status=WebhookEvent.Status.FAILED, attempts=3, last_error="Traceback: boom",
        conference_id="conf-1", payload={"conference_id": "conf-1", "connection_id": "c1"},
    )
    body = api(f"/api/v1/events/{event.pk}/")
    assert body["event_id"] == "evt-1"
    assert body["event_type"] == "conference.created"
    assert body["occurred_at"] == "2026-11-23T09:00:00Z"
    assert body["received_at"] == "2026-11-23T09:00:01Z"
    assert body["status"] == "failed"
    assert body["attempts"] == 3
    assert body["error"] == "Traceback: boom"
    assert body["payload"] == {"conference_id": "conf-1", "connection_id": "c1"}
    assert "raw_body" not in body
    assert api("/api/v1/events/evt-1/")["id"] == event.pk  # Telnyx's id works too


def test_unknown_event_is_404_in_the_one_error_shape(client, viewer):
    client.force_login(viewer)
    response = client.get("/api/v1/events/does-not-exist/")
    assert response.status_code == 404
    assert "message" in response.json()


def test_list_is_newest_first_and_paginated(api):
    for minute in range(3):
        make_event(minutes=minute)
    body = api()
    assert body["count"] == 3
    assert ids(body) == ["evt-3", "evt-2", "evt-1"]
    assert body["next"] is None and body["previous"] is None


def test_list_pages_past_fifty(api):
    for minute in range(52):
        make_event(minutes=minute)
    first = api()
    assert first["count"] == 52 and len(first["results"]) == 50 and first["next"]
    second = api(page=2)
    assert ids(second) == ["evt-2", "evt-1"]


def test_filter_event_type_exact_and_prefix(api):
    make_event("call.initiated")
    make_event("conference.created")
    make_event("conference.ended")
    assert ids(api(event_type="conference.created")) == ["evt-2"]
    assert ids(api(event_type="conference.")) == ["evt-3", "evt-2"]
    assert ids(api(event_type="conference")) == []  # no accidental substring match


def test_filter_status(api):
    make_event(status=WebhookEvent.Status.PROCESSED)
    make_event(status=WebhookEvent.Status.FAILED)
    assert ids(api(status="failed")) == ["evt-2"]


def test_filter_status_rejects_unknown_values(client, viewer):
    client.force_login(viewer)
    response = client.get("/api/v1/events/", {"status": "exploded"})
    assert response.status_code == 400
    assert "status" in response.json()["extra"]["fields"]


def test_filter_since_and_until_by_occurred_at(api):
    make_event(minutes=0)
    make_event(minutes=10)
    make_event(minutes=20)
    assert ids(api(since="2026-11-23T09:10:00Z")) == ["evt-3", "evt-2"]
    assert ids(api(until="2026-11-23T09:10:00Z")) == ["evt-2", "evt-1"]
    assert ids(api(since="2026-11-23T09:05:00Z", until="2026-11-23T09:15:00Z")) == ["evt-2"]


def test_since_falls_back_to_received_at_when_telnyx_sent_no_time(api):
    event = make_event(minutes=None)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=T0 + timedelta(minutes=30))
    assert ids(api(since="2026-11-23T09:20:00Z")) == [event.event_id]
    assert ids(api(until="2026-11-23T09:20:00Z")) == []


def test_filter_since_rejects_a_bad_date(client, viewer):
    client.force_login(viewer)
    response = client.get("/api/v1/events/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()["extra"]["fields"]


def test_filter_call_control_id(api):
    make_event(call_control_id="v3:a")
    make_event(call_control_id="v3:b")
    assert ids(api(call_control_id="v3:b")) == ["evt-2"]


def test_filter_conference_id(api):
    make_event("conference.created", conference_id="conf-a")
    make_event("conference.created", conference_id="conf-b")
    assert ids(api(conference_id="conf-a")) == ["evt-1"]


def test_filter_queue_name(api):
    make_event("call.enqueued", queue_name="support")
    make_event("call.enqueued", queue_name="sales")
    assert ids(api(queue_name="sales")) == ["evt-2"]


def test_filters_combine(api):
    make_event("call.enqueued", queue_name="support", status=WebhookEvent.Status.PROCESSED)
    make_event("call.enqueued", queue_name="support", status=WebhookEvent.Status.FAILED)
    make_event("call.dequeued", queue_name="support", status=WebhookEvent.Status.FAILED)
    assert ids(api(queue_name="support", status="failed", event_type="call.enqueued")) == ["evt-2"]


def test_reading_needs_the_view_permission(client):
    make_event()
    assert client.get("/api/v1/events/").status_code in (401, 403)
    client.force_login(UserFactory(username="norole"))
    assert client.get("/api/v1/events/").status_code == 403
    assert client.get("/api/v1/events/1/").status_code == 403


def test_events_api_is_read_only(client, administrator):
    event = make_event()
    client.force_login(administrator)
    # No write route exists (405), or the model permission refuses first (403): either way nothing changes.
    assert client.post("/api/v1/events/", {}, content_type="application/json").status_code in (403, 405)
    assert client.delete(f"/api/v1/events/{event.pk}/").status_code in (403, 405)
    assert WebhookEvent.objects.filter(pk=event.pk).exists()
