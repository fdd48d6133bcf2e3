"""Two web processes and two workers on one database and one broker: each event and command exactly once, live on both.

Runs in whichever profile the suite runs in: embedded (a SQLite file, the filesystem broker and
channels-lite, beat inside the first worker, as Procfile.embedded) or, with DATABASE_URL and REDIS_URL,
PostgreSQL + Redis (beat as its own process). The web processes are started from the profile's Procfile:
`Procfile.embedded`'s `web:` entry, or `Procfile.production`'s `web:` (granian) and `ws:` (daphne)
entries, so the test follows whatever servers the README recommends.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection
from websockets.sync.client import connect as ws_connect

from portal import procfile
from tests.conftest import SIGNING_KEY, load_event, sign
from tests.ops.conftest import parse_metrics, total

ROOT = Path(__file__).resolve().parents[2]
EVENT_TYPES = [
    "call.initiated", "call.answered", "call.bridged", "call.dtmf.received", "call.speak.started", "call.hangup",
    "conference.created", "conference.participant.joined", "conference.participant.left", "conference.ended",
    "call.enqueued", "call.dequeued",
]
COMMANDS_PER_WEB = 3
CONFERENCE = "conf-multi"
DEADLINE_SECONDS = 45

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from portal.tokens import api_token_create
from conferencing.models import Conference

user = get_user_model().objects.create_user("multi-admin", password="unused-Pass-123")
user.groups.add(Group.objects.get(name="Administrator"))
_, token = api_token_create(user=user)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
Conference.objects.create(conference_id="CONFERENCE", name="Multi", status="in_progress", created_at=timezone.now())
print("SETUP " + json.dumps({"token": token, "session": session.session_key}))
""".replace("CONFERENCE", CONFERENCE)


class FakeTelnyx:
    """A tiny Telnyx over HTTP that records every request and answers actions with success."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, document: dict):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append(("POST", self.path, body))
                self._answer(200, {"data": {"result": "ok"}})

            def do_GET(self):  # noqa: N802
                with fake.lock:
                    fake.requests.append(("GET", self.path, {}))
                self._answer(404, {"errors": [{"title": "Not found", "detail": "unknown to the fake"}]})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posts_to(self, path: str) -> list[dict]:
        with self.lock:
            return [body for method, p, body in self.requests if method == "POST" and p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """The processes under test, their logs, and how to reach them."""

    def __init__(self, tmp: Path, telnyx_port: int):
        self.tmp = tmp
        self.processes: list[tuple[str, subprocess.Popen, Path]] = []
        self.redis = bool(os.environ.get("REDIS_URL"))
        self.env = self._env(telnyx_port)
        self.procfile = procfile.entries(ROOT / ("Procfile.production" if self.redis else "Procfile.embedded"))
        self.webs: list[dict] = []

    def _env(self, telnyx_port: int) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
        (self.tmp / "metrics").mkdir()
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_DATA_DIR=str(self.tmp),
            PROMETHEUS_MULTIPROC_DIR=str(self.tmp / "metrics"), HEARTBEAT_SECONDS="2",
            TELNYX_API_KEY="KEY_MULTI", TELNYX_BASE_URL=f"http://127.0.0.1:{telnyx_port}/v2",
            TELNYX_PUBLIC_KEY=base64.b64encode(bytes(SIGNING_KEY.verify_key)).decode(), TELNYX_TIMEOUT_SECONDS="5",
            LOG_LEVEL="INFO", DATABASE_POOL_MAX="4", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            CELERY_TASK_ALWAYS_EAGER="false", METRICS_TOKEN="", DJANGO_DEBUG="true",
        )
        db = connection.settings_dict
        if db["ENGINE"].endswith("sqlite3"):
            # The suite's SQLite database lives in memory: copy its migrated schema into a file all processes share.
            env.pop("DATABASE_URL", None)
            connection.ensure_connection()
            target = sqlite3.connect(self.tmp / "portal.sqlite3")
            connection.connection.backup(target)
            target.close()
        else:
            # PostgreSQL: the suite's own (migrated) test database; the test is transactional, so it is flushed after.
            user = quote(db["USER"] or "", safe="")
            password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
            env["DATABASE_URL"] = f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start(self, name: str, argv: list[str], **extra_env) -> None:
        log = self.tmp / f"{name}.log"
        process = subprocess.Popen(
            argv, cwd=ROOT, env={**self.env, **extra_env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process, log))

    def start_web(self, index: int) -> None:
        http_port, ws_port = free_port(), free_port()
        env = {**self.env, "HOST": "127.0.0.1", "PORT": str(http_port), "WEB_WORKERS": "1"}
        self.start(f"web{index}", procfile.argv(self.procfile["web"], env), HOST="127.0.0.1", PORT=str(http_port))
        if "ws" in self.procfile:
            env["PORT"] = str(ws_port)
            self.start(f"ws{index}", procfile.argv(self.procfile["ws"], env), HOST="127.0.0.1", PORT=str(ws_port))
        else:
            ws_port = http_port
        self.webs.append({"http": f"http://127.0.0.1:{http_port}", "ws": f"ws://127.0.0.1:{ws_port}"})

    def start_worker(self, index: int, *, with_beat: bool) -> None:
        queues = ",".join(settings.PORTAL_TASK_QUEUES)
        argv = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", queues,
                "-n", f"multi{index}@%h", "--without-gossip", "--without-mingle"]
        if with_beat:
            argv += ["--beat", f"--schedule={self.tmp / 'beat-schedule'}"]
        self.start(f"worker{index}", argv)

    def start_beat(self) -> None:
        self.start("beat", [sys.executable, "-m", "celery", "-A", "portal", "beat", f"--schedule={self.tmp / 'beat-schedule'}"])

    def stop(self) -> None:
        """SIGTERM everything at once; whatever is still shutting down after a few seconds is killed."""
        for _, process, _ in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for _, process, _ in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {name} (exit {p.poll()})\n{log.read_text()[-2500:]}" for name, p, log in self.processes)


class Listener:
    """A logged-in live socket to one web process, collecting every message in a thread."""

    def __init__(self, url: str, session: str, origin: str):
        self.messages: list[str] = []
        self.socket = ws_connect(
            f"{url}/ws/live/?subscribe=events,commands",
            additional_headers={"Cookie": f"sessionid={session}", "Origin": origin}, open_timeout=20,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for message in self.socket:
                self.messages.append(message if isinstance(message, str) else message.decode())
        except Exception:  # noqa: BLE001 - closed at the end of the test
            pass

    def text(self) -> str:
        return "".join(self.messages)

    def close(self):
        self.socket.close()


def wait_for(predicate, what: str, stack: Stack, timeout: float = DEADLINE_SECONDS, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}\n{stack.logs()}")


def get(url: str, **kwargs) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5, **kwargs)
    except httpx.HTTPError:
        return None


@pytest.fixture
def stack(transactional_db, tmp_path):
    telnyx = FakeTelnyx()
    built = Stack(tmp_path, telnyx.port)
    built.telnyx = telnyx
    try:
        yield built
    finally:
        built.stop()
        telnyx.close()


def test_two_web_processes_and_two_workers_apply_each_event_and_send_each_command_once(stack):
    setup = json.loads(stack.manage("shell", "-c", SETUP).split("SETUP ", 1)[1])
    auth = {"Authorization": f"Token {setup['token']}"}
    for index in (1, 2):
        stack.start_web(index)
    stack.start_worker(1, with_beat=not stack.redis)
    stack.start_worker(2, with_beat=False)
    if stack.redis:
        stack.start_beat()
    web_a, web_b = stack.webs

    # Ready: both web processes answer, and /readyz sees both workers (every queue consumed) and beat.
    for web in stack.webs:
        wait_for(lambda web=web: (r := get(f"{web['http']}/healthz")) is not None and r.status_code == 200,
                 f"{web['http']} to answer", stack)
    ready = wait_for(
        lambda: (r := get(f"{web_a['http']}/readyz")) is not None and r.status_code == 200
        and r.json()["checks"]["workers"]["workers"] == 2 and r,
        "readiness with two workers and beat", stack,
    )
    assert ready.json()["failed"] == []
    assert get(f"{web_b['http']}/readyz").status_code == 200

    listeners = [Listener(web["ws"], setup["session"], web["http"]) for web in stack.webs]
    try:
        # The same signed deliveries to both web processes at once, and commands through both.
        documents = [load_event(event_type) for event_type in EVENT_TYPES]
        for n, document in enumerate(documents):
            document["data"]["id"] = f"multi-{n}-{document['data']['id']}"
        bodies = [json.dumps(document).encode() for document in documents]

        def deliver(web, body):
            headers = {k.removeprefix("HTTP_").replace("_", "-").lower(): v for k, v in sign(body).items()}
            return httpx.post(f"{web['http']}/webhooks/telnyx/", content=body, timeout=20,
                              headers={**headers, "content-type": "application/json"})

        def command(web, n):
            return httpx.post(
                f"{web['http']}/api/v1/conferences/{CONFERENCE}/actions/speak/", timeout=20, headers=auth,
                json={"payload": f"announcement {n} via {web['http']}", "voice": "female"},
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            deliveries = [pool.submit(deliver, web, body) for body in bodies for web in (web_a, web_b)]
            issued = [pool.submit(command, web, n) for n in range(COMMANDS_PER_WEB) for web in (web_a, web_b)]
            deliveries = [future.result() for future in deliveries]
            issued = [future.result() for future in issued]
        assert [r.status_code for r in deliveries] == [200] * len(deliveries), [r.text for r in deliveries]
        assert sum(r.json()["stored"] for r in deliveries) == len(bodies)  # one of each pair stored it
        assert [r.status_code for r in issued] == [202] * len(issued), [r.text for r in issued]
        commands = [r.json() for r in issued]

        # Every event applied, every command finished (read through the API of the *other* web process).
        def events_done():
            listed = httpx.get(f"{web_b['http']}/api/v1/events/", headers=auth, timeout=10).json()["results"]
            mine = [e for e in listed if e["event_id"].startswith("multi-")]
            return len(mine) == len(bodies) and all(e["status"] != "pending" for e in mine) and mine

        events = wait_for(events_done, "every event to be applied", stack)
        assert sorted(e["event_id"] for e in events) == sorted(d["data"]["id"] for d in documents)
        assert {e["status"] for e in events} <= {"processed", "ignored"}, [(e["event_type"], e["error"]) for e in events]
        assert all(e["attempts"] <= 1 for e in events)

        def commands_done():
            found = [httpx.get(f"{web_a['http']}/api/v1/commands/{c['id']}/", headers=auth, timeout=10).json()
                     for c in commands]
            return all(c["status"] in ("succeeded", "failed") for c in found) and found

        finished = wait_for(commands_done, "every command to finish", stack)
        assert [(c["status"], c["attempts"]) for c in finished] == [("succeeded", 1)] * len(commands)

        # Telnyx received each command exactly once, with its own command_id.
        sent = stack.telnyx.posts_to(f"/v2/conferences/{CONFERENCE}/actions/speak")
        assert sorted(body["command_id"] for body in sent) == sorted(c["command_id"] for c in commands)
        assert sorted(body["payload"] for body in sent) == sorted(c["params"]["payload"] for c in commands)

        # Both live sockets saw every event row and every command row, whichever process did the work.
        for listener in listeners:
            wait_for(
                lambda listener=listener: all(f'id="event-{e["id"]}"' in listener.text() for e in events)
                and all(f'id="command-{c["id"]}"' in listener.text() for c in commands),
                "live updates on both web processes", stack,
            )

        # Metrics are summed over every process: 2 deliveries per event (one a duplicate), each applied once.
        def scraped():
            response = get(f"{web_b['http']}/metrics")
            return parse_metrics(response.text) if response is not None and response.status_code == 200 else None

        samples = wait_for(lambda: (s := scraped()) and total(s, "portal_live_sockets") == 2 and s,
                           "both live sockets in the heartbeats", stack)
        assert total(samples, "portal_webhooks_received_total") == 2 * len(bodies)
        assert total(samples, "portal_webhooks_duplicates_total") == len(bodies)
        assert total(samples, "portal_events_applied_total") == len(bodies)
        assert total(samples, "portal_commands_total", action="conference.speak", outcome="succeeded") == len(commands)
        assert total(samples, "portal_workers_alive") == 2
    finally:
        for listener in listeners:
            listener.close()
