"""The production profile against a misbehaving Telnyx: a real web process, a real Celery worker, a fake Telnyx over HTTP.

The in-process fault tests (test_command_faults.py) run tasks eagerly; here the worker's own retries
(countdowns through the broker), the API door's Idempotency-Key and the command page are exercised as
deployed: a dropped connection ends a repeat-unsafe command "outcome unknown" after one request, a
retry-safe one is resent once with the same command_id, a slow Telnyx costs one timeout, and a client
that repeats its request with the same key gets the same command.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.ops.test_two_processes import CONFERENCE, SETUP, Stack, get, wait_for
from tests.resilience.fake_telnyx import Drop, FakeTelnyx, Ok, Slow

pytestmark = [pytest.mark.resilience_full, pytest.mark.resilience("Telnyx faults: production profile")]


@pytest.fixture
def stack(transactional_db, tmp_path):
    telnyx = FakeTelnyx()
    built = Stack(tmp_path, telnyx.port)
    built.env["TELNYX_TIMEOUT_SECONDS"] = "1"
    built.telnyx = telnyx
    try:
        yield built
    finally:
        built.stop()
        telnyx.close()


def test_faults_through_the_real_worker(stack, resilience):
    fake = stack.telnyx
    actions = f"/v2/conferences/{CONFERENCE}/actions"
    fake.script(f"{actions}/send_dtmf", Drop())
    fake.script(f"{actions}/speak", Drop(), Ok())
    fake.script(f"{actions}/play", Slow(3))
    fake.script(f"{actions}/stop", Ok())
    setup = json.loads(stack.manage("shell", "-c", SETUP).split("SETUP ", 1)[1])
    auth = {"Authorization": f"Token {setup['token']}"}
    stack.start_web(1)
    stack.start_worker(1, with_beat=False)
    web = stack.webs[0]["http"]
    wait_for(lambda: (r := get(f"{web}/healthz")) is not None and r.status_code == 200, "the web process", stack)

    def post(action, body, **headers):
        return httpx.post(f"{web}/api/v1/conferences/{CONFERENCE}/actions/{action}/", json=body, timeout=20,
                          headers={**auth, **headers})

    answers = {
        "send_dtmf": [post("send_dtmf", {"digits": "42"})],
        # The client repeats its speak (as after a timeout of its own): the same key, one command.
        "speak": [post("speak", {"payload": "once", "voice": "female"}, **{"Idempotency-Key": "prod-1"})
                  for _ in range(2)],
        "play": [post("play", {"audio_url": "https://example.com/a.mp3"})],
    }
    # A double click: the same key twice at the same moment, through two threads of the web process.
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers["stop"] = list(pool.map(lambda _: post("stop", {}, **{"Idempotency-Key": "prod-2"}), range(2)))
    resilience.server_errors(sum(a.status_code >= 500 for group in answers.values() for a in group))
    assert [a.status_code for a in answers["speak"]] == [202, 200]
    assert answers["speak"][0].json()["id"] == answers["speak"][1].json()["id"]
    assert sorted(a.status_code for a in answers["stop"]) == [200, 202], [a.text for a in answers["stop"]]
    assert answers["stop"][0].json()["id"] == answers["stop"][1].json()["id"]
    ids = {action: group[0].json()["id"] for action, group in answers.items()}

    def finished():
        found = {a: httpx.get(f"{web}/api/v1/commands/{pk}/", headers=auth, timeout=10).json() for a, pk in ids.items()}
        return all(c["status"] not in ("queued", "running") for c in found.values()) and found

    started = time.monotonic()
    commands = wait_for(finished, "every command to settle", stack, timeout=60)
    resilience.tried(len(commands))
    resilience.lost(sum(c["status"] in ("queued", "running") for c in commands.values()))
    assert time.monotonic() - started < 30  # nothing hangs: one timeout and one backoff at most

    sent = {action: fake.received(f"{actions}/{action}") for action in ids}
    resilience.doubled(len(sent["send_dtmf"]) - 1 + len(sent["play"]) - 1 + len(sent["speak"]) - 2 + len(sent["stop"]) - 1)
    assert commands["stop"]["status"] == "succeeded" and len(sent["stop"]) == 1
    assert commands["send_dtmf"]["status"] == "outcome_unknown" and sent["send_dtmf"] == [{"digits": "42"}]
    assert commands["play"]["status"] == "outcome_unknown" and len(sent["play"]) == 1
    assert "did not answer within 1 s" in commands["play"]["error"]["detail"]
    assert (commands["speak"]["status"], commands["speak"]["attempts"]) == ("succeeded", 2)
    assert [b["command_id"] for b in sent["speak"]] == [commands["speak"]["command_id"]] * 2

    # The command's page says why, in words, and offers the deliberate retry.
    page = httpx.get(f"{web}/commands/{ids['send_dtmf']}/", cookies={"sessionid": setup["session"]}, timeout=10)
    resilience.server_errors(int(page.status_code >= 500))
    assert page.status_code == 200
    assert "Outcome unknown" in page.text and "broke after the request was sent" in page.text
    assert "Retry deliberately" in page.text
