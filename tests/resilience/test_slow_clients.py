"""Slow clients: a few connections trickling a body must not stop the webhook intake from answering.

granian (Procfile.production's web:) hands a request to one of its WSGI threads as soon as the headers
arrive, and that thread then waits for the body: 2 workers x 2 threads are held by four trickling
clients. granian 2.x has no body read timeout, so the production layout puts a buffering proxy in
front (deploy/nginx.conf, README "Slow clients"); this test starts both and measures each.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time

import httpx
import pytest

from portal import procfile
from tests.conftest import load_event, sign
from tests.ops.test_two_processes import ROOT, Stack, free_port, get, wait_for
from webhooks.models import WebhookEvent

TRICKLERS = 8  # twice granian's 2 workers x 2 threads
PROMPT_SECONDS = 2.0


class Trickler:
    """One connection sending a webhook's headers, then a byte of its 1000-byte body every half second."""

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.socket.sendall(b"POST /webhooks/telnyx/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 1000\r\n\r\n{")
        self.running = True
        threading.Thread(target=self._trickle, daemon=True).start()

    def _trickle(self):
        while self.running:
            time.sleep(0.5)
            try:
                self.socket.sendall(b" ")
            except OSError:
                return

    def close(self):
        self.running = False
        self.socket.close()


def _deliver(base: str, event_id: str, timeout: float) -> tuple[int | None, float]:
    document = load_event("call.initiated")
    document["data"]["id"] = event_id
    body = json.dumps(document).encode()
    headers = {k.removeprefix("HTTP_").replace("_", "-").lower(): v for k, v in sign(body).items()}
    started = time.monotonic()
    try:
        response = httpx.post(f"{base}/webhooks/telnyx/", content=body, timeout=timeout,
                              headers={**headers, "content-type": "application/json"})
        return response.status_code, time.monotonic() - started
    except httpx.TimeoutException:
        return None, time.monotonic() - started


def _nginx(tmp_path, listen: int, upstream: int) -> subprocess.Popen:
    """nginx with deploy/nginx.conf as shipped, only its ports changed, in the foreground."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};").replace("127.0.0.1:8000", f"127.0.0.1:{upstream}")
    (tmp_path / "portal.conf").write_text(site)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
daemon off; worker_processes 1; user root root; pid {tmp_path}/nginx.pid; error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
    include {tmp_path}/portal.conf;
}}
""")
    return subprocess.Popen([binary, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)], start_new_session=True)


@pytest.fixture
def granian(transactional_db, tmp_path):
    """Procfile.production's web: line with its default workers and threads; yields its port."""
    stack = Stack(tmp_path, telnyx_port=free_port())
    port = free_port()
    env = {**stack.env, "HOST": "127.0.0.1", "PORT": str(port)}
    stack.start("web", procfile.argv(procfile.entries(ROOT / "Procfile.production")["web"], env), HOST="127.0.0.1",
                PORT=str(port))
    try:
        wait_for(lambda: (r := get(f"http://127.0.0.1:{port}/healthz")) is not None and r.status_code == 200,
                 "granian to answer", stack)
        yield port
    finally:
        stack.stop()


@pytest.mark.resilience_full
@pytest.mark.resilience("Slow clients: webhook intake")
def test_trickling_clients_starve_granian_alone_but_not_the_intake_behind_the_buffering_proxy(granian, tmp_path, resilience):
    if not (shutil.which("nginx") or shutil.which("/usr/sbin/nginx")):
        pytest.fail("nginx is required (apt-get install nginx; `make resilience` installs it)")
    proxy_port = free_port()
    nginx = _nginx(tmp_path, proxy_port, granian)
    tricklers = []
    try:
        for _ in range(50):
            if (r := get(f"http://127.0.0.1:{proxy_port}/healthz")) is not None and r.status_code == 200:
                break
            time.sleep(0.1)

        # Behind nginx: the trickling clients reach nginx, which holds them without a granian thread.
        tricklers = [Trickler(proxy_port) for _ in range(TRICKLERS)]
        time.sleep(1)
        proxied = [_deliver(f"http://127.0.0.1:{proxy_port}", f"slow-proxied-{n}", timeout=10) for n in range(3)]
        for trickler in tricklers:
            trickler.close()

        # granian alone, measured the same way: the same clients hold every thread.
        tricklers = [Trickler(granian) for _ in range(TRICKLERS)]
        time.sleep(1)
        direct = _deliver(f"http://127.0.0.1:{granian}", "slow-direct", timeout=PROMPT_SECONDS * 2)
    finally:
        for trickler in tricklers:
            trickler.close()
        nginx.terminate()
        nginx.wait(timeout=10)

    stored = set(WebhookEvent.objects.filter(event_id__startswith="slow-proxied-").values_list("event_id", flat=True))
    resilience.tried(len(proxied))
    resilience.server_errors(sum(1 for status, _ in proxied if status and status >= 500))
    resilience.lost(len(proxied) - len(stored))
    assert [status for status, _ in proxied] == [200] * 3, (proxied, (tmp_path / "nginx-error.log").read_text()[-2000:])
    assert max(elapsed for _, elapsed in proxied) < PROMPT_SECONDS, proxied
    # Why the proxy is a requirement: if this ever passes granian reads bodies itself and README can say so.
    assert direct[0] is None, f"granian answered a delivery while {TRICKLERS} clients trickled: {direct}"
