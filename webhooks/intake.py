"""The webhook intake's hot path: verify, insert once, answer; and a lean WSGI door in front of Django.

Every call event passes here and Telnyx times deliveries out, so the common case (a POST to
/webhooks/telnyx/) skips Django's URL resolver and its session, auth, CSRF and messages middleware,
none of which a signed machine-to-machine delivery uses (issue 13). Anything unusual (another method,
a host not in ALLOWED_HOSTS, plain HTTP where HTTPS is required, no Content-Length) falls through to
the full Django stack, which answers it exactly as before.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.http.request import split_domain_port, validate_host

from portal import metrics
from webhooks import store
from webhooks.rejections import count_rejection
from webhooks.verification import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    parse_envelope,
    verify_signature,
)

log = logging.getLogger("webhooks.views")
PATH = "/webhooks/telnyx/"


def receive(body: bytes | None, headers: Mapping[str, str], *, content_length: int, remote_addr: str = "") -> tuple[int, dict]:
    """Verify, store once and return (status, JSON document); `body` None means "not read yet: too large"."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    started = metrics.clock()
    try:
        if content_length > limit or body is None or len(body) > limit:
            raise WebhookRejected("too_large", "Body is larger than the limit.", 413)
        verify_signature(body, headers)
        data = parse_envelope(body)
    except WebhookRejected as rejection:
        count_rejection(rejection.reason)
        metrics.webhook_refused(rejection.reason, started)
        log.warning("webhook rejected: %s from %s", rejection.reason, remote_addr)
        return rejection.status, {"message": rejection.message, "reason": rejection.reason}
    try:
        event_id, created = store.event_store(data=data, raw_body=body)
    except DatabaseError:
        # Telnyx redelivers on a 5xx, so an outage of the database loses nothing.
        log.exception("webhook could not be stored")
        metrics.webhook_refused("unavailable", started)
        return 503, {"message": "Temporarily unavailable."}
    metrics.webhook_accepted(event_type=data["event_type"], event_id=event_id, created=created, started=started)
    return 200, {"id": event_id, "stored": created}


def warm_up() -> None:
    """Load at start what the first delivery would otherwise load, in the web process that serves it.

    The cache's Redis client (the redis package), Celery's task registry, event dispatcher and broker
    transport, the database pool (psycopg_pool): about 100 ms of CPU in the first delivery of every
    web process, and in that time its other thread waited for the interpreter (seen as a 60-100 ms
    stall in the bench's paced runs). Nothing connects here, so a server may still fork afterwards.
    """
    from portal.celery import app as celery_app
    from portal.redis_client import kept_redis_client
    from webhooks import tasks  # noqa: F401 - the drain task the first delivery queues

    kept_redis_client()
    celery_app.finalize(auto=True)
    celery_app.producer_pool  # noqa: B018 - imports the broker transport and builds the (lazy) pool
    celery_app.amqp.send_task_message  # noqa: B018 - builds the sender and its (disabled) event dispatcher
    getattr(connections["default"], "pool", None)  # PostgreSQL: the pool object, not yet opened


class WebhookDispatch:
    """WSGI middleware: serve POST /webhooks/telnyx/ directly, hand every other request to Django."""

    def __init__(self, django_app: Callable, path: str = PATH):
        self.django_app = django_app
        self.path = path
        self._allowed_hosts: set[str] = set()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.path or not self._lean(environ):
            return self.django_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length <= settings.WEBHOOK_MAX_BODY_BYTES else None
        headers = {
            SIGNATURE_HEADER: environ.get("HTTP_TELNYX_SIGNATURE_ED25519"),
            TIMESTAMP_HEADER: environ.get("HTTP_TELNYX_TIMESTAMP"),
        }
        try:
            status, document = receive(body, headers, content_length=length, remote_addr=environ.get("REMOTE_ADDR", ""))
        except Exception:  # noqa: BLE001 - answer 500 like Django would, and say why in the log
            log.exception("webhook intake failed")
            status, document = 500, {"message": "Internal error."}
        finally:
            # Keep this thread's connection for the next delivery unless it broke (Django would
            # return it to the pool after every request: ~0.2 ms more per delivery, measured).
            if connection.errors_occurred:
                connection.close()
            else:
                _release_when_thread_ends()
        payload = json.dumps(document).encode()
        start_response(_STATUS[status], [*_HEADERS, ("Content-Length", str(len(payload)))])
        return [payload]

    def _lean(self, environ) -> bool:
        """True when Django's stack would add nothing: POST, allowed host, HTTPS where required, a length."""
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("CONTENT_LENGTH"):
            return False
        if settings.SECURE_SSL_REDIRECT and not _is_secure(environ):
            return False
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if host in self._allowed_hosts:
            return True
        domain, _ = split_domain_port(host)
        allowed_hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed_hosts:
            allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
        if domain and validate_host(domain, allowed_hosts):
            if len(self._allowed_hosts) < 64:  # only allowed hosts are remembered, so this stays small
                self._allowed_hosts.add(host)
            return True
        return False


_threads = threading.local()


class _ThreadEnd:
    """Lives only in one thread's locals, so it is freed when that thread ends."""


def _release_when_thread_ends() -> None:
    """Give this thread's kept connection back when the server retires the thread.

    Servers retire idle threads (granian: --blocking-threads-idle-timeout, 30 s by default). A pooled
    connection still held by a retired thread would keep its pool slot for good: after
    DATABASE_POOL_MAX retirements every request of that process waited out the pool's timeout.
    """
    if getattr(_threads, "end", None) is None:
        _threads.end = _ThreadEnd()
        finalizer = weakref.finalize(_threads.end, _release, connections["default"], os.getpid(), threading.get_ident())
        finalizer.atexit = False


def _release(db, pid: int, thread_ident: int) -> None:
    """Return `db`'s connection to its pool (or close it); the wrapper belongs to a thread that ended.

    Only in the process and thread that opened it: a forked child's copy of a parent thread's
    locals, or a wrapper shared between threads (Django's live-server tests), is left alone.
    """
    if os.getpid() != pid or db._thread_ident != thread_ident or db.allow_thread_sharing:
        return
    conn, db.connection = db.connection, None
    if conn is None:
        return
    try:
        pool = getattr(conn, "_pool", None)  # the pool it came from, as Django's own close() does
        if pool is not None:
            pool.putconn(conn)
        else:
            conn.close()
    except Exception:  # noqa: BLE001 - a thread is ending: nothing to answer; the server keeps running
        log.warning("could not release a retired thread's database connection", exc_info=True)


def _is_secure(environ) -> bool:
    header = settings.SECURE_PROXY_SSL_HEADER
    if header and environ.get(header[0]) == header[1]:
        return True
    return environ.get("wsgi.url_scheme") == "https"


_STATUS = {200: "200 OK", 400: "400 Bad Request", 413: "413 Request Entity Too Large", 500: "500 Internal Server Error",
           503: "503 Service Unavailable"}
_HEADERS = [
    ("Content-Type", "application/json"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
]
