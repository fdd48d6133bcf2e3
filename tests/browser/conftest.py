"""A real portal stack (daphne + Celery worker on the embedded profile) and headless Debian Chromium."""
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """The portal running as it does under `make run`, with a key to sign webhooks."""

    def __init__(self, base_url: str, signing_key: SigningKey, env: dict):
        self.base_url = base_url
        self.signing_key = signing_key
        self.env = env

    def post_webhook(self, event_type: str, event_id: str, occurred_at: str, **payload) -> int:
        body = json.dumps(
            {"data": {"record_type": "event", "event_type": event_type, "id": event_id, "occurred_at": occurred_at, "payload": payload}}
        ).encode()
        timestamp = str(int(time.time()))
        signature = base64.b64encode(self.signing_key.sign(timestamp.encode() + b"|" + body).signature).decode()
        request = urllib.request.Request(
            f"{self.base_url}/webhooks/telnyx/", data=body, method="POST",
            headers={"content-type": "application/json", "telnyx-signature-ed25519": signature, "telnyx-timestamp": timestamp},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout


def wait_until_up(url: str, log: Path, process=None, timeout: float = 60) -> None:
    """Poll `url` until it answers; fail with the end of `log` if it never does or the process dies."""
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.time() > deadline or (process is not None and process.poll() is not None):
                raise RuntimeError("portal did not start:\n" + log.read_text()[-3000:]) from None
            time.sleep(0.3)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("portal-data")
    key = SigningKey.generate()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        PORTAL_DATA_DIR=str(data_dir), TELNYX_PUBLIC_KEY=base64.b64encode(bytes(key.verify_key)).decode(),
        TELNYX_BASE_URL="http://127.0.0.1:9/v2", DJANGO_DEBUG="true", PYTHONUNBUFFERED="1",
        # Telnyx is unreachable here: a command fails at its first attempt instead of backing off for minutes.
        COMMAND_MAX_ATTEMPTS="1",
    )
    stack = Stack(f"http://127.0.0.1:{port}", key, env)
    stack.manage("migrate", "--no-input")
    stack.manage("shell", "-c", (
        "from django.contrib.auth.models import Group; from django.contrib.auth import get_user_model; "
        "u = get_user_model().objects.create_user('operator', password='pass-word-123', is_staff=True); "
        "u.groups.add(Group.objects.get(name='Operator')); "
        "s = get_user_model().objects.create_user('supervisor', password='pass-word-123'); "
        "s.groups.add(Group.objects.get(name='Supervisor'))"
    ))
    bin_dir = Path(sys.executable).parent
    logs = open(data_dir / "stack.log", "w")
    processes = [
        subprocess.Popen([str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
                         cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT),
        subprocess.Popen([str(bin_dir / "celery"), "-A", "portal", "worker", "--beat", "--pool=solo", "--loglevel=INFO",
                          f"--schedule={data_dir / 'beat-schedule'}"], cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT),
    ]
    wait_until_up(f"{stack.base_url}/login/", data_dir / "stack.log")
    yield stack
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    logs.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does this)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_console(page) -> list[str]:
    """Collect console errors and uncaught exceptions of `page` (htmx logs its swap and target errors there)."""
    errors = page.console_errors = []
    page.on("console", lambda message: errors.append(f"{message.text} ({page.url})") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"{error} ({page.url})"))
    return errors


@contextlib.contextmanager
def watched_context(browser, base_url: str, **context_options):
    """A browser context whose every page must log no console error (issue 31): the test fails at the end otherwise.

    A test expecting one (a 403 it provokes) removes it from `page.console_errors`.
    """
    context = browser.new_context(base_url=base_url, **context_options)
    pages = []
    context.on("page", lambda opened: pages.append(opened) or watch_console(opened))
    try:
        yield context
        errors = [e for p in pages for e in getattr(p, "console_errors", [])]
        assert errors == [], f"console errors: {errors}"
    finally:
        context.close()


@contextlib.contextmanager
def logged_in(browser, base_url: str, username: str, password: str = "pass-word-123", **context_options):
    """A browser page logged into the portal at `base_url`, closed afterwards; watched for console errors."""
    with watched_context(browser, base_url, **context_options) as context:
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/")
        yield page


@pytest.fixture
def page(browser, stack):
    with logged_in(browser, stack.base_url, "operator") as page:
        yield page


@pytest.fixture
def supervisor_page(browser, stack):
    """A listener: digits and transcripts are shown to Supervisors and Administrators only (issue 24)."""
    with logged_in(browser, stack.base_url, "supervisor") as page:
        yield page
