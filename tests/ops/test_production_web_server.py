"""The production web server (Procfile.production's `web:` line, granian) serves the portal in every profile.

tests/ops/test_two_processes.py runs the whole production layout on PostgreSQL + Redis; this one runs
under `make test` too, so a change of server or of its flags that breaks pages, the API or the lean
webhook door is caught without Redis.
"""
from __future__ import annotations

import json

import httpx
import pytest

from portal import procfile
from tests.conftest import load_event, sign
from tests.ops.test_two_processes import ROOT, Stack, free_port, get, wait_for


@pytest.fixture
def web(transactional_db, tmp_path):
    stack = Stack(tmp_path, telnyx_port=free_port())
    port = free_port()
    env = {**stack.env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_WORKERS": "1"}
    command = procfile.argv(procfile.entries(ROOT / "Procfile.production")["web"], env)
    assert command[0] == "granian"
    stack.start("web", command)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: (r := get(f"{base}/healthz")) is not None and r.status_code == 200, "granian to answer", stack)
        yield base
    finally:
        stack.stop()


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
