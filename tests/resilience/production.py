"""The production profile for fault tests: Procfile.production's processes on PostgreSQL + Redis, a fake Telnyx, and calls' stories.

Builds on tests/ops/test_two_processes.py's Stack (environment, logs, stopping) and FakeTelnyx; adds
stopping and restarting one process, a web process whose DATABASE_URL or REDIS_URL goes through a
FaultProxy, and a call's webhooks with distinct times, so final states can be compared.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from portal import procfile
from tests.conftest import load_event, sign
from tests.ops.test_two_processes import SETUP, Stack, free_port, get, wait_for

CONFERENCE = "conf-multi"  # created by SETUP
STORY = ["call.initiated", "call.answered", "call.dtmf.received", "call.dtmf.received", "call.speak.started",
         "call.speak.ended", "call.hangup"]


class ProductionStack(Stack):
    """Stack on PostgreSQL + Redis with processes started from Procfile.production and stopped one by one."""

    def __init__(self, tmp, telnyx_port):
        if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
            pytest.fail("the production profile needs DATABASE_URL (PostgreSQL) and REDIS_URL: run `make resilience`")
        super().__init__(tmp, telnyx_port)
        self.env["WEBHOOK_DRAIN_LINGER_SECONDS"] = "0.05"

    def start_entry(self, name: str, entry: str, **extra_env: str) -> None:
        env = {**self.env, **extra_env}
        self.start(name, procfile.argv(self.procfile[entry], env), **extra_env)

    def start_web_process(self, name: str, **extra_env: str) -> str:
        """Procfile.production's web: (granian, one worker); returns its base URL once it answers."""
        port = free_port()
        self.start_entry(name, "web", HOST="127.0.0.1", PORT=str(port), WEB_WORKERS="1", **extra_env)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: (r := get(f"{base}/healthz")) is not None and r.status_code == 200, f"{name} to answer", self)
        return base

    def stop_process(self, name: str) -> None:
        """SIGTERM one process (a worker finishes its task first) and wait for it to exit."""
        for entry in list(self.processes):
            if entry[0] == name and entry[1].poll() is None:
                os.killpg(entry[1].pid, signal.SIGTERM)
                try:
                    entry[1].wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(entry[1].pid, signal.SIGKILL)
                    entry[1].wait(timeout=10)

    def setup_user(self) -> dict:
        """An Administrator's API token and the conference commands are sent to."""
        return json.loads(self.manage("shell", "-c", SETUP).split("SETUP ", 1)[1])

    def url_through(self, variable: str, port: int) -> str:
        """DATABASE_URL or REDIS_URL of this stack with its host and port replaced by a proxy's."""
        parts = urlsplit(self.env[variable])
        credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{port}"))

    def target_of(self, variable: str) -> tuple[str, int]:
        parts = urlsplit(self.env[variable])
        default = 5432 if variable == "DATABASE_URL" else 6379
        return parts.hostname or "127.0.0.1", parts.port or default


def call_story(prefix: str, n: int, *, start: datetime | None = None) -> list[dict]:
    """One call's webhooks, in the order they happened, a second apart; ids and call ids unique to `prefix`/`n`."""
    start = start or datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    documents = []
    for k, event_type in enumerate(STORY):
        document = load_event(event_type)
        data = document["data"]
        data["id"] = f"{prefix}-{n}-{k}-{event_type}"
        data["occurred_at"] = (start + timedelta(seconds=k)).isoformat().replace("+00:00", "Z")
        payload = data["payload"]
        payload["call_control_id"] = f"v3:{prefix}-{n}"
        payload["call_leg_id"] = f"leg-{prefix}-{n}"
        payload["call_session_id"] = f"session-{prefix}-{n}"
        if event_type == "call.dtmf.received":
            payload["digit"] = str(k)
        documents.append(document)
    return documents


def deliver(base: str, document: dict, timeout: float = 30) -> httpx.Response | None:
    """POST a document signed as Telnyx signs it; None when no answer came in `timeout`."""
    body = json.dumps(document).encode()
    headers = {k.removeprefix("HTTP_").replace("_", "-").lower(): v for k, v in sign(body).items()}
    try:
        return httpx.post(f"{base}/webhooks/telnyx/", content=body, timeout=timeout,
                          headers={**headers, "content-type": "application/json"})
    except httpx.HTTPError:
        return None


def issue_speak(base: str, token: str, text: str) -> dict:
    response = httpx.post(f"{base}/api/v1/conferences/{CONFERENCE}/actions/speak/", timeout=30,
                          headers={"Authorization": f"Token {token}"}, json={"payload": text, "voice": "female"})
    assert response.status_code == 202, response.text
    return response.json()


def call_states(prefix: str) -> dict:
    """Every call of `prefix` as comparable values (the prefix taken out), with its DTMF digits."""
    from calls.models import Call

    states = {}
    for call in Call.objects.filter(call_control_id__startswith=f"v3:{prefix}-").prefetch_related("dtmf_digits"):
        key = call.call_control_id.removeprefix(f"v3:{prefix}-")
        states[key] = {
            "state": call.state, "answered_at": call.answered_at, "ended_at": call.ended_at,
            "hangup_cause": call.hangup_cause, "hangup_source": call.hangup_source, "last_event_at": call.last_event_at,
            "speaking": call.speaking, "client_state": call.client_state, "from": call.from_number, "to": call.to_number,
            "digits": [(d.digit, d.occurred_at) for d in call.dtmf_digits.all()],
        }
    return states
