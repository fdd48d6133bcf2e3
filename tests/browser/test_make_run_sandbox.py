"""`make run` without TELNYX_API_KEY: the portal runs against the sandbox and shows activity within seconds."""
import os
import signal
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT, free_port, wait_until_up

pytestmark = [pytest.mark.browser]


@pytest.fixture
def portal_with_sandbox(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "TELNYX_API_KEY", "TELNYX_PUBLIC_KEY", "TELNYX_BASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(PORTAL_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1", SANDBOX_TRAFFIC="60")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*manage, "ensure_superuser", "--password", "pass-word-123"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(tmp_path / "run.log", "w")
    process = subprocess.Popen([*manage, "runportal", "--port", str(port), "--sandbox-port", str(free_port())],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/login/", tmp_path / "run.log", process)
    yield base
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def test_dashboard_shows_simulated_activity(browser, portal_with_sandbox):
    context = browser.new_context(base_url=portal_with_sandbox)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pass-word-123")
    page.click("button[type=submit]")
    expect(page.locator(".sandbox-banner")).to_contain_text("Sandbox: simulated calls")
    active_calls = page.locator('[data-counter="active_calls"] .value')
    expect(active_calls).not_to_have_text("0", timeout=30000)
    page.goto("/events/")
    expect(page.locator("#event-rows tr").first).to_be_visible(timeout=10000)
    context.close()
