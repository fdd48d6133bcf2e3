"""`make run` without TELNYX_API_KEY: the portal runs against the sandbox, end to end in the browser."""
import json
import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT, free_port, logged_in, wait_until_up

pytestmark = [pytest.mark.browser]


@dataclass
class Running:
    base: str
    sandbox: str
    process: subprocess.Popen | None = None
    log: Path | None = None

    def assert_alive(self) -> None:
        """Fail with the end of the run log if honcho has stopped (one process exiting stops them all)."""
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"make run stopped (exit {self.process.returncode}):\n" + self.log.read_text()[-4000:])

    def sandbox_post(self, path: str, body: dict | None = None, token: str | None = None) -> dict:
        headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
        request = urllib.request.Request(f"{self.sandbox}{path}", data=json.dumps(body or {}).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def sandbox_get(self, path: str) -> dict:
        request = urllib.request.Request(f"{self.sandbox}{path}", headers={"authorization": "Bearer any"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def portal_with_sandbox(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("make-run")
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "TELNYX_API_KEY", "TELNYX_PUBLIC_KEY", "TELNYX_BASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(PORTAL_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", SANDBOX_TRAFFIC="30")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*manage, "ensure_superuser", "--password", "pass-word-123"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(data_dir / "run.log", "w")
    process = subprocess.Popen([*manage, "runportal", "--port", str(port), "--sandbox-port", str(sandbox_port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    running = Running(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", process, data_dir / "run.log")
    wait_until_up(f"{running.base}/login/", data_dir / "run.log", process)
    wait_until_up(f"{running.sandbox}/", data_dir / "run.log", process)
    yield running
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.fixture
def admin_page(browser, portal_with_sandbox):
    portal_with_sandbox.assert_alive()
    try:
        with logged_in(browser, portal_with_sandbox.base, "admin") as page:
            yield page
    finally:
        portal_with_sandbox.assert_alive()


def test_dashboard_shows_simulated_activity(admin_page):
    expect(admin_page.locator(".sandbox-banner")).to_contain_text("Sandbox: simulated calls")
    expect(admin_page.locator('[data-counter="active_calls"] .value')).not_to_have_text("0", timeout=30000)
    admin_page.goto("/events/")
    expect(admin_page.locator("#event-rows tr").first).to_be_visible(timeout=10000)


def test_operator_mutes_a_participant_and_the_sandbox_obeys(admin_page, portal_with_sandbox):
    host = portal_with_sandbox.sandbox_post("/_sandbox/calls")["data"]["call_control_id"]
    guest = portal_with_sandbox.sandbox_post("/_sandbox/calls")["data"]["call_control_id"]
    conference = portal_with_sandbox.sandbox_post("/v2/conferences", {"call_control_id": host, "name": "Browser room"}, token="any")
    conference_id = conference["data"]["id"]
    portal_with_sandbox.sandbox_post(f"/v2/conferences/{conference_id}/actions/join", {"call_control_id": guest}, token="any")
    for _ in range(100):  # polled aside: a 404 page would log a console error
        if admin_page.request.get(f"/conferences/{conference_id}/").status == 200:
            break
        admin_page.wait_for_timeout(200)
    admin_page.goto(f"/conferences/{conference_id}/")
    row = admin_page.locator(f'tr[data-call-control-id="{guest}"]')
    expect(row).to_contain_text("Joined", timeout=15000)
    row.get_by_role("button", name="Mute").click()
    expect(row).to_contain_text("muted", timeout=15000)  # the command succeeded and the roster refreshed live
    expect(row.get_by_role("button", name="Unmute")).to_be_visible()
    participants = portal_with_sandbox.sandbox_get(f"/v2/conferences/{conference_id}/participants")["data"]
    assert {p["call_control_id"]: p["muted"] for p in participants}[guest] is True


def test_simulated_caller_appears_on_the_open_queue_board(admin_page, portal_with_sandbox):
    admin_page.goto("/queues/")
    expect(admin_page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
    portal_with_sandbox.sandbox_post("/_sandbox/calls", {"queue": "browser-queue"})
    expect(admin_page.locator("#queue-table")).to_contain_text("browser-queue", timeout=15000)
