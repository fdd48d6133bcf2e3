"""The production web server (Procfile.production's `web:` line, granian) serves the portal in every profile.

tests/ops/test_two_processes.py runs the whole production layout on PostgreSQL + Redis; this one runs
under `make test` too, so a change of server or of its flags that breaks pages, the API or the lean
webhook door is caught without Redis.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from portal import procfile
from tests.conftest import SIGNING_KEY, load_event, sign
from tests.ops.test_two_processes import ROOT, Stack, free_port, get, wait_for

THREAD_IDLE_SECONDS = 5  # granian's smallest --blocking-threads-idle-timeout


def _granian(tmp_path, **extra_env: str):
    """Procfile.production's `web:` line, one worker, started for the test; yields its base URL."""
    stack = Stack(tmp_path, telnyx_port=free_port())
    port = free_port()
    env = {**stack.env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_WORKERS": "1", **extra_env}
    command = procfile.argv(procfile.entries(ROOT / "Procfile.production")["web"], env)
    assert command[0] == "granian"
    stack.start("web", command, **extra_env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: (r := get(f"{base}/healthz")) is not None and r.status_code == 200, "granian to answer", stack)
        yield base
    finally:
        stack.stop()


@pytest.fixture
def web(transactional_db, tmp_path):
    yield from _granian(tmp_path)


@pytest.fixture
def web_retiring_threads(transactional_db, tmp_path):
    """granian retiring idle threads after 5 s, two threads, and a pool of two PostgreSQL connections.

    PostgreSQL only: the pool is what a retired thread could exhaust, and production (granian) runs on
    PostgreSQL; the embedded SQLite profile is served by daphne (`make run`). granian retiring a thread
    that opened a SQLite connection was seen to crash its worker now and then (noted for a later issue).
    """
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (production's database); .ci/run's PostgreSQL + Redis pass runs it")
    yield from _granian(tmp_path, WEB_THREADS="2", DATABASE_POOL_MAX="2",
                        GRANIAN_BLOCKING_THREADS_IDLE_TIMEOUT=str(THREAD_IDLE_SECONDS))


def _deliver(base: str, body: bytes, signed: bytes | None = None) -> httpx.Response:
    """POST `body` with Telnyx's signature headers over `signed` (by default the body itself)."""
    headers = {k.removeprefix("HTTP_").replace("_", "-").lower(): v for k, v in sign(signed or body).items()}
    return httpx.post(f"{base}/webhooks/telnyx/", content=body, timeout=20,
                      headers={**headers, "content-type": "application/json"})


def test_granian_stores_a_signed_delivery_once_and_refuses_a_forged_one(web):
    document = load_event("call.initiated")
    document["data"]["id"] = "granian-" + document["data"]["id"]
    body = json.dumps(document).encode()

    first, again = _deliver(web, body), _deliver(web, body)
    forged = _deliver(web, body.replace(b"call.initiated", b"call.hangup"), signed=body)

    assert (first.status_code, first.json()["stored"]) == (200, True)
    assert (again.status_code, again.json()["stored"]) == (200, False)  # the same Telnyx id: stored once
    assert forged.status_code in (400, 403) and forged.json()["reason"] == "signature_mismatch"
    assert first.headers["content-type"] == "application/json"


def test_granian_serves_pages_behind_login_and_the_api_behind_authentication(web):
    page = httpx.get(f"{web}/conferences/", timeout=10)
    api = httpx.get(f"{web}/api/v1/conferences/", timeout=10)
    login = httpx.get(f"{web}/login/", timeout=10)
    wrong_method = httpx.get(f"{web}/webhooks/telnyx/", timeout=10)  # not the lean door's: Django answers

    assert page.status_code == 302 and "/login/" in page.headers["location"]
    assert api.status_code in (401, 403)
    assert login.status_code == 200 and "csrfmiddlewaretoken" in login.text
    assert wrong_method.status_code == 405


def test_a_retired_threads_connection_goes_back_to_the_pool(web_retiring_threads):
    """The intake keeps its thread's connection between deliveries; a thread granian retires must give it back.

    granian keeps one thread and retires the other once idle. Before the fix the retired thread kept
    its pool slot: with a pool of two, the next burst's second thread waited out the pool's 10 s
    timeout and was refused 503 (on PostgreSQL; SQLite has no pool to exhaust).
    """
    def burst(n: int) -> list[tuple[int, bool, bool]]:
        bodies = []
        for k in range(12):
            document = load_event("call.initiated")
            document["data"]["id"] = f"retired-thread-{n}-{k}-" + document["data"]["id"]
            bodies.append(json.dumps(document).encode())
        with ThreadPoolExecutor(4) as pool:  # concurrent, so granian runs both threads
            answers = list(pool.map(lambda body: _deliver(web_retiring_threads, body), bodies))
        return [(a.status_code, a.json().get("stored"), a.elapsed.total_seconds() < 5) for a in answers]

    first = burst(0)
    sessions_after_burst = _granian_sessions()
    for extra in range(5):  # granian may serve a whole quick burst on one thread: burst until both ran
        if connection.vendor != "postgresql" or sessions_after_burst == 2:
            break
        first += burst(100 + extra)
        sessions_after_burst = _granian_sessions()
    time.sleep(THREAD_IDLE_SECONDS + 2)  # the second thread is retired
    second = burst(1)

    assert first == [(200, True, True)] * len(first)
    assert second == [(200, True, True)] * 12
    if connection.vendor == "postgresql":
        assert sessions_after_burst == 2  # both threads served the first burst, each with its connection


def _granian_sessions() -> int | None:
    """PostgreSQL sessions on the test database whose last statement was the intake's insert."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # The intake's statement: the insert, or on a partitioned table the insert behind its dedupe key.
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND (query LIKE 'INSERT INTO \"webhooks_webhookevent\"%%' "
                       "OR query LIKE 'WITH new_key AS (INSERT INTO%%')")
        return cursor.fetchone()[0]


FIRST_DELIVERY = """
import io, json, os, sys
from nacl.signing import SigningKey
from portal.wsgi import application
from tests.conftest import load_event, sign

document = load_event("call.initiated")
document["data"]["id"] = "first-of-a-process-" + document["data"]["id"]
body = json.dumps(document).encode()
environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/telnyx/", "HTTP_HOST": "127.0.0.1", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "80", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
           **sign(body, key=SigningKey(bytes.fromhex(os.environ["SIGNING_SEED"])))}
before = set(sys.modules)
answer = {}
payload = b"".join(application(environ, lambda status, headers: answer.update(status=status)))
print(json.dumps({"status": answer["status"], "body": json.loads(payload), "loaded": sorted(set(sys.modules) - before)}))
"""


def test_a_web_process_loads_the_intakes_modules_at_start_not_in_its_first_delivery(transactional_db, tmp_path):
    """The first delivery of each web process used to import redis, kombu's transport, Celery's registry and
    psycopg_pool: ~100 ms of CPU, during which the process's other thread waited (bench: paced-run stalls)."""
    stack = Stack(tmp_path, telnyx_port=free_port())
    done = subprocess.run([sys.executable, "-c", FIRST_DELIVERY], cwd=ROOT, env={**stack.env, "ALLOWED_HOSTS": "127.0.0.1", "SIGNING_SEED": bytes(SIGNING_KEY).hex()},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["status"] == "200 OK" and result["body"]["stored"] is True
    heavy = {"redis", "kombu", "celery", "psycopg_pool", "webhooks", "portal", "django"}
    assert [name for name in result["loaded"] if name.split(".")[0] in heavy] == []
