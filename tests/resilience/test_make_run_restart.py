"""`make run`, stop, `make run` again on the same `var/` (issue 29): the second run's pages show its world, no ghosts.

The processes `make run` starts (runportal: daphne, the worker with embedded beat, the sandbox with traffic),
twice on one data folder, as a newcomer does. Slow (two starts of every process): `make resilience` only.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.resilience("Sandbox restarted on a kept database"), pytest.mark.resilience_full,
              pytest.mark.timeout(600)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MakeRun:
    """`manage.py runportal` in its own process group, stopped with SIGINT as Ctrl-C stops it."""

    def __init__(self, data: Path, port: int, sandbox_port: int, env: dict):
        self.data, self.port, self.sandbox_port, self.env = data, port, sandbox_port, env
        self.process, self.log = None, None

    def __enter__(self):
        self.log = open(self.data / f"run-{time.time_ns()}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runportal", "--port", str(self.port), "--sandbox-port", str(self.sandbox_port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(f"http://127.0.0.1:{self.port}/login/")
        self.wait_for(f"http://127.0.0.1:{self.sandbox_port}/")
        return self

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()

    def wait_for(self, url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{url} never answered:\n" + Path(self.log.name).read_text()[-3000:])
                time.sleep(0.5)

    def sandbox(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.sandbox_port}{path}", timeout=10) as response:
            return json.loads(response.read())

    def portal_state(self) -> dict:
        """What the portal holds, read by a management command from a second shell."""
        script = (
            "import json; from calls.models import Call; from conferencing.models import Conference; "
            "from queues.models import QueuedCall; from webhooks.models import WebhookEvent as E; "
            "print(json.dumps({'calls': list(Call.objects.exclude(state='hangup').values_list('call_control_id', flat=True)), "
            "'conferences': list(Conference.objects.exclude(status='completed').values_list('conference_id', flat=True)), "
            "'waiting': list(QueuedCall.objects.filter(left_at__isnull=True, is_alive=True).values_list('call_control_id', flat=True)), "
            "'events': {e: s for e, s in E.objects.values_list('event_id', 'status')}}))"
        )
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=self.env, check=True,
                             capture_output=True, text=True, timeout=120).stdout
        return json.loads(out.strip().splitlines()[-1])


def test_make_run_twice_shows_the_new_worlds_calls_and_no_ghosts(tmp_path, resilience):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_VERSION", "PORTAL_SANDBOX")
           and not k.startswith("TELNYX_")}
    env.update(PORTAL_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1", SANDBOX_TRAFFIC="40")
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env, check=True, capture_output=True)
    port, sandbox_port = free_port(), free_port()

    with MakeRun(tmp_path, port, sandbox_port, env) as first:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (first.sandbox("/_sandbox/state")["conferences_active"]
                                                   and first.sandbox("/_sandbox/state")["queued"]):
            time.sleep(1)
        time.sleep(3)  # the last webhooks applied
        before = first.portal_state()
    assert before["calls"] and before["conferences"], "the first run left nothing live to become a ghost"

    with MakeRun(tmp_path, port, sandbox_port, env) as second:
        deadline, after, sandbox = time.monotonic() + 120, None, None
        while time.monotonic() < deadline:
            time.sleep(3)
            after, sandbox = second.portal_state(), second.sandbox("/_sandbox/state")
            ghosts = set(after["calls"]) & set(before["calls"]) or set(after["conferences"]) & set(before["conferences"])
            if not ghosts and sandbox["webhooks_pending"] == 0 and len(after["calls"]) == sandbox["calls_alive"]:
                break
        sent = second.sandbox("/_sandbox/webhooks/sent")
        time.sleep(5)  # traffic goes on: every webhook delivered so far is applied by now
        applied = second.portal_state()["events"]

    resilience.tried(len(sent))
    resilience.lost(sum(1 for _, event_id, status in ((s["event_type"], s["id"], s["status"]) for s in sent)
                        if applied.get(event_id) != "processed"))
    resilience.doubled(sum(1 for s in sent if s["id"] in before["events"]) + len(set(after["calls"]) & set(before["calls"])))
    resilience.server_errors(sum(1 for s in sent if (s["status"] or 0) >= 500))

    assert sent and {s["status"] for s in sent} == {200}
    assert not [s["id"] for s in sent if s["id"] in before["events"]], "the second run repeated the first run's event ids"
    assert all(applied.get(s["id"]) == "processed" for s in sent), "a second-run webhook was not applied"
    assert not set(after["calls"]) & set(before["calls"]), "calls of the first run still shown live"
    assert not set(after["conferences"]) & set(before["conferences"]), "conferences of the first run still shown live"
    assert not set(after["waiting"]) & set(before["waiting"]), "callers of the first run still shown waiting"
    assert len(after["calls"]) == sandbox["calls_alive"] and len(after["conferences"]) == sandbox["conferences_active"]
