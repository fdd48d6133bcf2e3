"""Shared fixtures: a fake Telnyx over HTTP (respx), webhook signing, role users, in-memory live layer."""
import base64
import json
import time
from pathlib import Path

import pytest
import respx
from channels.layers import get_channel_layer
from nacl.signing import SigningKey

from portal import gateway
from portal.celery import app as celery_app
from tests.factories import UserFactory

pytest_plugins = ["tests.resilience.plugin", "tests.real_worker"]

TELNYX = "https://telnyx.test/v2"
EVENTS_DIR = Path(__file__).parent / "fixtures" / "events"
SIGNING_KEY = SigningKey.generate()


@pytest.fixture(autouse=True)
def portal_settings(settings, request):
    """Point the gateway at the fake Telnyx, trust the test's signing key, run tasks eagerly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TELNYX_API_KEY = "KEY_TEST"
    settings.TELNYX_BASE_URL = TELNYX
    settings.TELNYX_PUBLIC_KEY = base64.b64encode(bytes(SIGNING_KEY.verify_key)).decode()
    settings.TELNYX_TIMEOUT_SECONDS = 2
    # No live-socket reporter thread writing heartbeats into the test database behind the test's back.
    settings.HEARTBEAT_SECONDS = 0
    # Drains end as soon as nothing is pending (the PostgreSQL profile would linger 0.25 s per drain).
    settings.WEBHOOK_DRAIN_LINGER_SECONDS = 0
    # A previous test's nudge (one whose drain a test swallowed) must not make this test's nudge skip.
    from webhooks import drain_flag

    drain_flag.forget_seen_flag()
    # Recording capture downloads Telnyx's links: off unless a test serves them (tests/recordings does).
    settings.RECORDING_CAPTURE = False
    if "live_layer" not in request.keywords:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
    celery_app.conf.task_always_eager = True
    # False lets eager apply() run Celery retries in place; services record their own errors.
    celery_app.conf.task_eager_propagates = False
    gateway._client.cache_clear()
    import channels.layers

    channels.layers.channel_layers.backends.clear()
    yield settings
    gateway._client.cache_clear()
    channels.layers.channel_layers.backends.clear()


@pytest.fixture
def telnyx():
    """The fake Telnyx: a respx router at TELNYX_BASE_URL that fails on unmatched requests."""
    with respx.mock(base_url=TELNYX, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def load_event(event_type: str) -> dict:
    return json.loads((EVENTS_DIR / f"{event_type}.json").read_text())


def store_pending(event_type: str, event_id: str, occurred_at, **payload) -> None:
    """Store one pending event of `event_type` (its sample payload, updated with `payload`), as the intake does."""
    from webhooks import store

    doc = load_event(event_type)
    data = doc.get("data", doc)
    data["id"], data["occurred_at"] = event_id, occurred_at.isoformat().replace("+00:00", "Z")
    data["payload"].update(payload)
    store.event_store(data=data, raw_body=json.dumps(doc).encode())


def sign(body: bytes, timestamp: int | None = None, key: SigningKey = SIGNING_KEY) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = key.sign(f"{timestamp}|".encode() + body).signature
    return {
        "HTTP_TELNYX_SIGNATURE_ED25519": base64.b64encode(signature).decode(),
        "HTTP_TELNYX_TIMESTAMP": str(timestamp),
    }


@pytest.fixture
def post_webhook(client, django_capture_on_commit_callbacks):
    """POST a signed webhook like Telnyx does, running on-commit callbacks (task queueing) for real."""

    def post(document: dict | bytes, **headers):
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        signed = {**sign(body), **headers}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/webhooks/telnyx/", data=body, content_type="application/json", **signed)

    return post


@pytest.fixture
def event_doc():
    """A fresh copy of a fixture event, optionally with another id, time or payload fields."""

    def make(event_type: str, *, id: str | None = None, occurred_at: str | None = None, **payload):
        doc = load_event(event_type)
        data = doc.get("data", doc)
        if id:
            data["id"] = id
        if occurred_at:
            data["occurred_at"] = occurred_at
        data["payload"].update(payload)
        return doc

    return make


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer", role="Viewer")


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", role="Operator")


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", role="Supervisor")


@pytest.fixture
def administrator(db):
    return UserFactory(username="administrator", role="Administrator")


@pytest.fixture
def listen():
    """Join a group on the channel layer and collect what is published to it."""
    from asgiref.sync import async_to_sync

    layer = get_channel_layer()
    channels = {}

    def join(group: str) -> str:
        from portal import live

        name = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group, name)
        live.watch([group])  # as the page's socket does: publishers render for watched groups only
        channels[group] = name
        return name

    def received(group: str) -> list[str]:
        """Everything queued for our channel in `group` so far (in-memory layer, read without a loop)."""
        queue = layer.channels.get(channels[group])
        messages = []
        while queue is not None and not queue.empty():
            _, message = queue.get_nowait()
            messages.append(message["html"])
        return messages

    join.received = received
    return join
