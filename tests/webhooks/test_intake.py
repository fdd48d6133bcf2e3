"""The lean intake (WSGI door in front of Django) and batched processing: claim, order, nudge, coalesce."""
import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction

from calls.models import Call
from tests.conftest import load_event, sign
from webhooks import drain, registry, store
from webhooks.intake import WebhookDispatch
from webhooks.models import WebhookEvent
from webhooks.rejections import rejection_counts
from webhooks.tasks import process_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def wsgi(django_capture_on_commit_callbacks):
    """Call the production WSGI application (lean door + Django behind it) like gunicorn would."""
    # As Django's test client does: the test's transaction must survive request_finished.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    def call(body: bytes, headers: dict, *, method="POST", host="testserver", path="/webhooks/telnyx/"):
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            **headers,
        }
        app = WebhookDispatch(get_wsgi_application())  # per call: middleware reads settings when built
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"], answer["headers"] = int(status[:3]), dict(response_headers)

        with django_capture_on_commit_callbacks(execute=True):
            answer["body"] = b"".join(app(environ, start_response))
        return answer

    yield call
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def lost_nudges(monkeypatch, settings):
    """Count drain tasks the intake queues, without running them (and ask the flag every time)."""
    settings.WEBHOOK_NUDGE_SKIP_SECONDS = 0
    sent = []
    monkeypatch.setattr(process_pending, "delay", lambda *a, **k: sent.append(1))
    return sent


def body_of(event_type: str, **changes) -> bytes:
    document = load_event(event_type)
    data = document.get("data", document)
    data.update(changes)
    return json.dumps(document).encode()


def test_lean_door_verifies_stores_and_processes(wsgi):
    body = body_of("call.initiated")
    answer = wsgi(body, sign(body))
    assert answer["status"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"]) == {"id": json.loads(body)["data"]["id"], "stored": True}
    event = WebhookEvent.objects.get()
    assert event.raw_body == body.decode()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Call.objects.get().call_control_id == "v3:cc-alice"
    again = wsgi(body, sign(body))
    assert (again["status"], json.loads(again["body"])["stored"]) == (200, False)
    assert WebhookEvent.objects.get().attempts == 1


def test_lean_door_refuses_forgeries_before_writing(wsgi):
    body = body_of("call.initiated")
    tampered = body.replace(b"incoming", b"outgoing")
    answer = wsgi(tampered, sign(body))
    assert answer["status"] == 400
    assert json.loads(answer["body"])["reason"] == "signature_mismatch"
    assert wsgi(body, {})["status"] == 400
    assert WebhookEvent.objects.count() == 0
    assert rejection_counts()["signature_mismatch"] == 1
    assert rejection_counts()["missing_headers"] == 1


def test_lean_door_refuses_large_bodies_without_reading_them(wsgi, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    body = body_of("call.initiated")
    answer = wsgi(body, sign(body))
    assert answer["status"] == 413
    assert WebhookEvent.objects.count() == 0


def test_unusual_requests_fall_through_to_django(wsgi, settings):
    body = body_of("call.initiated")
    assert wsgi(b"", {}, method="GET")["status"] == 405
    assert wsgi(body, sign(body), host="evil.example")["status"] == 400  # DisallowedHost, as Django answers
    settings.SECURE_SSL_REDIRECT = True
    redirected = wsgi(body, sign(body))
    assert redirected["status"] == 301 and redirected["headers"]["Location"].startswith("https://")
    assert WebhookEvent.objects.count() == 0
    # X-Forwarded-Proto is believed only behind a declared TLS proxy (DJANGO_BEHIND_TLS_PROXY, issue 24).
    assert wsgi(body, {**sign(body), "HTTP_X_FORWARDED_PROTO": "https"})["status"] == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    behind_proxy = wsgi(body, {**sign(body), "HTTP_X_FORWARDED_PROTO": "https"})
    assert behind_proxy["status"] == 200
    assert WebhookEvent.objects.count() == 1


def test_other_paths_are_served_by_django(wsgi):
    assert wsgi(b"", {}, method="GET", path="/login/")["status"] == 200


def test_one_drain_is_queued_per_burst(post_webhook, event_doc, lost_nudges):
    for i in range(3):
        assert post_webhook(event_doc("call.initiated", id=f"burst-{i}", call_control_id=f"v3:b{i}")).status_code == 200
    assert len(lost_nudges) == 1
    assert drain.events_drain() == 3
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 3
    post_webhook(event_doc("call.initiated", id="after", call_control_id="v3:after"))
    assert len(lost_nudges) == 2  # the drain cleared the flag before claiming


def test_redelivery_of_a_pending_event_nudges_again_and_stores_once(post_webhook, event_doc, lost_nudges, settings):
    from django.core.cache import cache

    document = event_doc("call.initiated")
    post_webhook(document)
    cache.clear()  # the flag expired, the task was lost
    post_webhook(document)
    assert len(lost_nudges) == 2
    assert WebhookEvent.objects.count() == 1


def test_a_batch_is_applied_in_occurred_at_order(post_webhook, event_doc, lost_nudges, monkeypatch):
    applied = []
    original = registry.handlers_for

    def recording(event_type):
        return [lambda event: applied.append(event.event_id), *original(event_type)]

    monkeypatch.setattr(registry, "handlers_for", recording)
    post_webhook(event_doc("call.hangup", id="late", occurred_at="2026-11-23T09:05:00Z"))
    post_webhook(event_doc("call.answered", id="early", occurred_at="2026-11-23T09:01:00Z"))
    post_webhook(event_doc("call.initiated", id="first", occurred_at="2026-11-23T09:00:00Z"))
    assert drain.events_drain() == 3
    assert applied == ["first", "early", "late"]
    assert Call.objects.get().state == Call.State.HANGUP


def test_a_failing_event_does_not_undo_its_batch(post_webhook, event_doc, lost_nudges, monkeypatch, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    original = registry.handlers_for

    def broken(event_type):
        if event_type == "call.initiated":
            return [lambda event: (_ for _ in ()).throw(RuntimeError("handler bug"))]
        return original(event_type)

    monkeypatch.setattr(registry, "handlers_for", broken)
    post_webhook(event_doc("call.initiated", id="bad"))
    post_webhook(event_doc("call.hangup", id="good", call_control_id="v3:other"))
    unknown = event_doc("call.initiated", id="unknown")
    unknown["data"]["event_type"] = "call.something.new"
    post_webhook(unknown)
    assert drain.events_drain() == 3
    statuses = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert statuses == {"bad": "failed", "good": "processed", "unknown": "ignored"}
    assert "RuntimeError: handler bug" in WebhookEvent.objects.get(event_id="bad").last_error
    assert Call.objects.get(call_control_id="v3:other").state == Call.State.HANGUP


def test_a_batch_without_failures_costs_no_savepoint_per_event(post_webhook, event_doc, lost_nudges):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_webhook(event_doc("call.initiated", id="start", call_control_id="v3:known"))
    drain.events_drain()

    def savepoints_to_drain(count: int, tag: str) -> int:
        for i in range(count):
            post_webhook(event_doc("call.speak.started", id=f"{tag}-{i}", call_control_id="v3:known"))
        with CaptureQueriesContext(connection) as queries:
            assert drain.events_drain() == count
        return sum(q["sql"].startswith("SAVEPOINT") for q in queries)

    assert savepoints_to_drain(4, "four") == savepoints_to_drain(1, "one")  # per batch, not per event
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_batch_commits_without_waiting_for_disk_while_the_intake_stays_durable(post_webhook, event_doc, lost_nudges,
                                                                                  monkeypatch):
    """Applying is derived from stored events, so a drain's commit need not wait for the WAL flush; storing must."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    postgres = connection.vendor == "postgresql"

    def setting() -> str | None:
        if not postgres:
            return None
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    seen = []
    original = registry.handlers_for
    monkeypatch.setattr(registry, "handlers_for",
                        lambda event_type: [lambda event: seen.append(setting()), *original(event_type)])
    post_webhook(event_doc("call.initiated", id="durable", call_control_id="v3:sync"))
    with CaptureQueriesContext(connection) as queries:
        assert drain.events_drain() == 1

    assert Call.objects.get(call_control_id="v3:sync").state == Call.State.INITIATED
    asked = [q["sql"] for q in queries if "synchronous_commit" in q["sql"] and not q["sql"].startswith("SHOW")]
    if postgres:
        assert asked == ["SET LOCAL synchronous_commit TO off"]
        assert seen == ["off"]  # inside the batch's transaction
        assert setting() == "on"  # SET LOCAL ends with the batch: the next insert commits durably
    else:
        assert asked == [] and seen == [None]  # SQLite has no such setting

    # A batch that fails midway is redone event by event in a second transaction: the same there.
    monkeypatch.setattr(registry, "handlers_for", lambda event_type: [
        lambda event: (_ for _ in ()).throw(RuntimeError("handler bug")) if event.event_id == "bad" else None])
    post_webhook(event_doc("call.speak.started", id="bad", call_control_id="v3:sync"))
    post_webhook(event_doc("call.speak.ended", id="fine", call_control_id="v3:sync"))
    with CaptureQueriesContext(connection) as queries:
        assert drain.events_drain() == 2
    redo = [q["sql"] for q in queries if q["sql"].startswith("SET LOCAL")]
    assert redo == (["SET LOCAL synchronous_commit TO off"] * 2 if postgres else [])
    assert dict(WebhookEvent.objects.filter(event_id__in=["bad", "fine"]).values_list("event_id", "status")) == {
        "bad": "failed", "fine": "processed"}

    monkeypatch.setattr(registry, "handlers_for",
                        lambda event_type: [lambda event: seen.append(setting()), *original(event_type)])
    post_webhook(event_doc("call.hangup", id="inside", call_control_id="v3:sync"))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:  # a caller's transaction: left alone
        assert drain.events_drain() == 1
    assert not [q for q in queries if q["sql"].startswith("SET LOCAL")]
    assert seen[-1] == ("on" if postgres else None)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_midway_is_redone_event_by_event_and_published_once(client, listen, lost_nudges, monkeypatch,
                                                                                settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    listen("events")
    original = registry.handlers_for
    applied = []

    def broken(event_type):
        def bad(event):
            if event.event_id == "mid":
                raise RuntimeError("handler bug")
        return [lambda event: applied.append(event.event_id), bad, *original(event_type)]

    monkeypatch.setattr(registry, "handlers_for", broken)
    for i, event_id in enumerate(["before", "mid", "after"]):
        body = body_of("call.initiated", id=event_id, occurred_at=f"2026-11-23T09:0{i}:00Z")
        body = body.replace(b"v3:cc-alice", f"v3:{event_id}".encode())
        assert client.post("/webhooks/telnyx/", data=body, content_type="application/json", **sign(body)).status_code == 200
    assert drain.events_drain() == 3

    # The optimistic pass stopped at "mid" and was rolled back; the isolated pass applied all three.
    assert applied == ["before", "mid", "before", "mid", "after"]
    assert dict(WebhookEvent.objects.values_list("event_id", "status")) == {
        "before": "processed", "mid": "failed", "after": "processed"}
    assert sorted(Call.objects.values_list("call_control_id", flat=True)) == ["v3:after", "v3:before"]
    assert WebhookEvent.objects.get(event_id="before").attempts == 1
    rows = "".join(listen.received("events"))
    assert [rows.count(f"v3%3A{event_id}") for event_id in ("before", "mid", "after")] == [1, 1, 1]


def test_claimed_events_are_applied_once(post_webhook, event_doc, lost_nudges):
    post_webhook(event_doc("call.initiated"))
    assert drain.events_drain() == 1
    assert drain.events_drain() == 0
    assert drain.events_process_batch(limit=10) == 0
    assert WebhookEvent.objects.get().attempts == 1


def test_drains_stop_at_their_deadline_and_queue_the_rest(post_webhook, event_doc, lost_nudges, django_capture_on_commit_callbacks):
    for i in range(5):
        post_webhook(event_doc("call.initiated", id=f"e{i}", call_control_id=f"v3:d{i}"))
    sent = len(lost_nudges)
    with django_capture_on_commit_callbacks(execute=True):
        assert drain.events_drain(batch_size=2, max_seconds=0) == 2
    assert len(lost_nudges) == sent + 1
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).count() == 3


@pytest.fixture
def late_delivery(post_webhook, event_doc, lost_nudges, settings, monkeypatch):
    """A drain lingering 50 ms, polling every 5 ms; `late_delivery(after_naps)` posts "late" at that nap.

    "first" is stored already; the call returns the list of naps the drain took.
    """
    import time
    from types import SimpleNamespace

    settings.WEBHOOK_DRAIN_LINGER_SECONDS = 0.05
    settings.WEBHOOK_DRAIN_POLL_SECONDS = 0.005
    post_webhook(event_doc("call.initiated", id="first", call_control_id="v3:l1"))
    naps = []

    def arrange(after_naps: int) -> list:
        def nap(seconds):
            naps.append(seconds)
            if len(naps) == after_naps:  # a delivery arrives while the drain waits
                post_webhook(event_doc("call.initiated", id="late", call_control_id="v3:l2"))
            time.sleep(seconds)

        monkeypatch.setattr(drain, "time", SimpleNamespace(monotonic=time.monotonic, sleep=nap))
        return naps

    return arrange


def test_a_drain_lingers_after_its_last_event_and_applies_a_late_one_itself(late_delivery):
    """A steady trickle is applied by the running drain: no new task per event (WEBHOOK_DRAIN_LINGER_SECONDS)."""
    naps = late_delivery(after_naps=1)
    assert drain.events_drain() == 2
    assert max(naps) <= 0.005 and len(naps) >= 3  # short polls until 50 ms after the last event
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 2


def test_a_lingering_drain_polls_with_a_read_and_claims_only_when_something_waits(late_delivery, monkeypatch):
    """Polls cost one read each; a claiming transaction opens only for the poll that finds the late event."""
    claims, polls = [], []
    real_claim, real_poll = drain.events_process_batch, drain._any_pending
    monkeypatch.setattr(drain, "events_process_batch", lambda **kw: claims.append(real_claim(**kw)) or claims[-1])
    monkeypatch.setattr(drain, "_any_pending", lambda: polls.append(real_poll()) or polls[-1])
    late_delivery(after_naps=3)
    assert drain.events_drain() == 2
    # first, empty, late, empty: the polls in between found nothing and opened no transaction.
    assert claims == [1, 0, 1, 0]
    assert polls.count(True) == 1 and polls.count(False) >= 3
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_drain_publishes_one_message_per_group(client, listen, lost_nudges):
    listen("events")
    listen("calls")
    for i in range(3):
        body = body_of("call.initiated", id=f"live-{i}")
        body = body.replace(b"v3:cc-alice", f"v3:live-{i}".encode())
        assert client.post("/webhooks/telnyx/", data=body, content_type="application/json", **sign(body)).status_code == 200
    assert listen.received("events") == []  # nothing is published on the request path
    assert drain.events_drain() == 3
    events = listen.received("events")
    assert len(events) == 1
    assert all(f"v3%3Alive-{i}" in events[0] for i in range(3))
    assert len(listen.received("calls")) == 1


def test_a_drain_that_finds_another_running_leaves_a_note_and_the_holder_drains_again(
    post_webhook, event_doc, lost_nudges, monkeypatch
):
    from django.core.cache import cache

    post_webhook(event_doc("call.initiated", id="first"))
    monkeypatch.setattr(drain, "_drain_lock", lambda acquire: not acquire)  # another drain holds it
    assert drain.events_drain() == 0
    assert cache.get(drain.AGAIN_KEY)
    monkeypatch.undo()

    original = registry.handlers_for
    arrived = []

    def handlers_for(event_type):
        def meanwhile(event):
            # While the holder applies "first", a delivery is stored and its drain finds the lock taken.
            if not arrived:
                arrived.append(store.event_store(data=json.loads(body_of("call.hangup", id="late"))["data"],
                                                    raw_body=body_of("call.hangup", id="late")))
                cache.set(drain.AGAIN_KEY, 1)
        return [meanwhile, *original(event_type)]

    monkeypatch.setattr(registry, "handlers_for", handlers_for)
    assert drain.events_drain(batch_size=10) == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
    assert not cache.get(drain.AGAIN_KEY)
