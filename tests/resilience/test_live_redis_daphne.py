"""Redis stopped or hung, then back, under the production websocket server (daphne from Procfile.production).

daphne reaches Redis through the fault proxy; the publisher (this process, as a worker would) reaches it
directly. A logged-in socket watches a group while Redis goes away and comes back: live updates must
resume, on the same socket or on a new one opened as htmx's extension does by itself, and every frame
lost meanwhile must be one the page knows about (a gap in the numbering, or a reconnect, after which
live.js re-fetches its live regions).
"""
from __future__ import annotations

import os
import re
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from websockets.sync.client import connect as ws_connect

from portal import live, procfile
from tests.factories import UserFactory
from tests.ops.test_two_processes import Stack, free_port
from tests.resilience.proxy import FaultProxy
from tests.resilience.test_live_gaps import gaps_seen

pytestmark = [pytest.mark.resilience_full, pytest.mark.live_layer, pytest.mark.django_db(transaction=True)]
MARKER = re.compile(r'data-seq="(\d+)"')


class Socket:
    """One open page's live socket: collects frames in a thread; `closed` once the server drops it."""

    def __init__(self, url: str, session: str, group: str):
        self.frames: list[str] = []
        self.closed = False
        self.ws = ws_connect(f"{url}/ws/live/?subscribe={group}", open_timeout=10,
                             additional_headers={"Cookie": f"sessionid={session}", "Origin": "http://127.0.0.1"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for message in self.ws:
                self.frames.append(message if isinstance(message, str) else message.decode())
        except Exception:  # noqa: BLE001 - the server closed it; the page would reconnect
            pass
        self.closed = True

    def close(self):
        self.ws.close()


def login_session(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def until(predicate, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@pytest.mark.resilience("Live frames: Redis stopped or hung, then back (daphne)")
@pytest.mark.parametrize("fault", ["refuse", "hang"])
def test_open_pages_get_updates_again_after_redis_returns(tmp_path, fault, resilience):
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url or not os.environ.get("DATABASE_URL"):
        pytest.skip("the production profile: DATABASE_URL and REDIS_URL (make resilience)")
    target = urlsplit(redis_url)
    proxy = FaultProxy(target.hostname, target.port or 6379)
    stack = Stack(tmp_path, telnyx_port=9)
    stack.env["REDIS_URL"] = target._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    # As deployed (not debugging), with this process's key: daphne reads the session this test signs.
    stack.env.update(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=settings.SECRET_KEY)
    port = free_port()
    env = {**stack.env, "HOST": "127.0.0.1", "PORT": str(port)}
    stack.start("ws", procfile.argv(stack.procfile["ws"], env), HOST="127.0.0.1", PORT=str(port))
    group = f"call.{uuid.uuid4().hex[:12]}"
    live.watch([group])  # this process's presence cache: render for the group the page watches
    sockets: list[Socket] = []
    sent = 0

    def publish(n: int = 1):
        nonlocal sent
        for _ in range(n):
            sent += 1
            live.send_now(group, f'<tr id="row-{sent}"></tr>')
        live._publisher().wait_sent(timeout=10)

    try:
        session = login_session(UserFactory(username="watcher", role="Viewer"))
        assert until(lambda: _try_open(sockets, port, session, group), 30), stack.logs()
        time.sleep(0.5)  # daphne's subscription settles
        publish(3)
        assert until(lambda: len(sockets[-1].frames) == 3, 10), stack.logs()

        getattr(proxy, fault)()
        publish(3)  # lost: daphne cannot hear Redis
        time.sleep(2)
        proxy.forward()

        # Back: the page keeps its socket or, once the server drops it, opens a new one (htmx does).
        def resumed() -> bool:
            if sockets[-1].closed:
                _try_open(sockets, port, session, group)
            publish()
            time.sleep(0.5)
            return any(MARKER.search(f) and int(MARKER.search(f).group(1)) > 6 for s in sockets for f in s.frames)

        assert until(resumed, 45, every=0.5), f"no update reached an open page after Redis came back\n{stack.logs()}"
    finally:
        for s in sockets:
            s.close()
        stack.stop()
        proxy.close()

    received, missed, reconnected_after = set(), set(), {}
    for index, s in enumerate(sockets):
        gaps, numbers = gaps_seen(s.frames)
        received.update(numbers)
        missed.update(gaps)
        if index and numbers:
            reconnected_after[index] = min(numbers)
    # A frame lost before a reconnect is re-fetched by the page when the new socket opens.
    covered = {n for n in range(1, sent + 1) if any(n < first for first in reconnected_after.values())}
    lost = set(range(1, sent + 1)) - received
    resilience.tried(sent)
    resilience.lost(len(lost - missed - covered))
    assert lost <= missed | covered


def _try_open(sockets: list, port: int, session: str, group: str) -> bool:
    try:
        sockets.append(Socket(f"ws://127.0.0.1:{port}", session, group))
        return True
    except Exception:  # noqa: BLE001 - not up yet, or refused while Redis is away: try again
        return False
