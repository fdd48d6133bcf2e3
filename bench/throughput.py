"""Benchmark 3 over HTTP against the running stack: command throughput, next to a bare Celery task's."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request

from bench import load
from bench.parts import HOST, web_address
from bench.stack import PORTS, Stack


def commands(stack: Stack, token: str, conference_id: str, *, workers=(1, 4), idle: int = 30, burst: int = 200,
             delay: float = 0.05) -> list[dict]:
    """Commands issued through the API against a fake Telnyx that answers in `delay` seconds."""
    from portal.models import Command

    path = f"/api/v1/conferences/{conference_id}/actions/mute/"
    body = b"{}"
    raw = (f"POST {path} HTTP/1.1\r\nHost: {web_address()}\r\nContent-Type: application/json\r\n"
           f"Authorization: Token {token}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    out = []
    for n in workers:
        stack.stop("worker")
        stack.start_worker(concurrency=n, queues="commands")  # README, "Running in production": command workers
        # Warm-up, not measured: each new worker process's first task, and each web process's first
        # command (its broker connection), pays imports and connections once.
        for _ in range(2 * (n + stack.web_workers)):
            assert load.run(load.request(HOST, PORTS["web"], raw))[0] == 202
        _wait(lambda: not Command.objects.exclude(status__in=[Command.Status.SUCCEEDED, Command.Status.FAILED]).exists(), 30)
        _fake("DELETE")
        # Idle queue: one command at a time, API call to Telnyx request; the next one leaves once the
        # worker is free again (Telnyx answered), or it would wait behind the previous answer.
        issued = []
        for _ in range(idle):
            started = time.time()
            status, _ = load.run(load.request(HOST, PORTS["web"], raw))
            assert status == 202, status
            issued.append(started)
            expected = len(issued)
            _wait(lambda expected=expected: len(_fake()) >= expected, 5)
            _wait(lambda: not Command.objects.exclude(status__in=[Command.Status.SUCCEEDED, Command.Status.FAILED]).exists(), 5)
        arrivals = [a[0] for a in _fake()]
        idle_latency = load.percentiles([a - s for a, s in zip(arrivals, issued, strict=False)])
        # Throughput: `burst` commands at once from 8 clients, until every one has succeeded.
        _fake("DELETE")
        before = Command.objects.filter(status=Command.Status.SUCCEEDED).count()
        started = time.monotonic()

        statuses = load.run(_issue_all(raw, burst))
        api_done = time.monotonic() - started
        ok = _succeeded(before + burst)
        elapsed = time.monotonic() - started
        queued_first = _queued_then_applied(stack, n, raw, burst, delay)
        reference = _bare_commands(idle, burst, delay)
        out.append({
            "workers": n, "idle_api_to_telnyx": idle_latency, "burst": burst, "reference": reference,
            "queued_first_per_s": queued_first,
            "accepted_202": sum(s == 202 for s in statuses), "api_seconds": round(api_done, 2),
            "completed_per_s": round(burst / elapsed, 1) if ok else None,
            # The reference: what Telnyx's latency allows with n workers doing nothing else.
            "bound_per_s": round(n / delay, 1),
            "telnyx_requests": len(_fake()),
        })
        stack.record_peak("worker")
    return out


async def _issue_all(raw: bytes, burst: int) -> list[int]:
    """`burst` API calls from 8 concurrent clients; their statuses."""
    sem = asyncio.Semaphore(8)

    async def one() -> int:
        async with sem:
            return (await load.request(HOST, PORTS["web"], raw))[0]

    return await asyncio.gather(*(one() for _ in range(burst)))


def _queued_then_applied(stack: Stack, workers: int, raw: bytes, burst: int, delay: float) -> float | None:
    """The burst issued while the command workers are stopped, then applied: the workers' own rate.

    Counted from Telnyx's first request to its last answer, as `_arrival_rate` counts the bare task's,
    so the API requests do not share the two cores with the workers meanwhile.
    """
    from portal.models import Command

    stack.stop("worker")
    _fake("DELETE")
    before = Command.objects.filter(status=Command.Status.SUCCEEDED).count()
    statuses = load.run(_issue_all(raw, burst))
    assert statuses.count(202) == burst, statuses
    stack.start_worker(concurrency=workers, queues="commands")
    return _arrival_rate(delay) if _succeeded(before + burst) else None


def _succeeded(count: int, timeout: float = 120) -> bool:
    """Wait until `count` commands in all have succeeded."""
    from portal.models import Command

    return _wait(lambda: Command.objects.filter(status=Command.Status.SUCCEEDED).count() >= count, timeout)


def _arrival_rate(delay: float) -> float | None:
    """Commands per second from the fake Telnyx's first request to its last answer."""
    arrivals = sorted(a[0] for a in _fake())
    return round(len(arrivals) / (arrivals[-1] - arrivals[0] + delay), 1) if len(arrivals) > 1 else None


def _bare_commands(idle: int, burst: int, delay: float) -> dict:
    """The same worker, broker and fake Telnyx with a task that does nothing but the request."""
    from bench.tasks import bare_command

    url = f"http://{HOST}:{PORTS['telnyx']}/v2/conferences/bare/actions/mute"
    _fake("DELETE")
    issued = []
    for _ in range(idle):
        issued.append(time.time())
        bare_command.delay(url)
        expected = len(issued)
        _wait(lambda expected=expected: len(_fake()) >= expected, 5)
        time.sleep(delay + 0.02)  # the worker is free again once Telnyx has answered (as for the commands)
    arrivals = [a[0] for a in _fake()]
    idle_latency = load.percentiles([a - s for a, s in zip(arrivals, issued, strict=False)])
    _fake("DELETE")
    started = time.monotonic()
    for _ in range(burst):
        bare_command.delay(url)
    ok = _wait(lambda: len(_fake()) >= burst, 120)
    elapsed = time.monotonic() - started + delay  # the last answer comes `delay` after its request
    return {"idle_call_to_telnyx": idle_latency, "completed_per_s": round(burst / elapsed, 1) if ok else None,
            "arrival_per_s": _arrival_rate(delay) if ok else None}


def _fake(method: str = "GET"):
    request = urllib.request.Request(f"http://{HOST}:{PORTS['telnyx']}/_bench/requests", method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False
