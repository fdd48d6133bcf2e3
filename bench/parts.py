"""Benchmarks 1-2 over HTTP against the running stack: ingest and live latency (3, commands: bench/throughput.py)."""
from __future__ import annotations

import asyncio
import re
import time

from bench import events, load
from bench.stack import PORTS, Stack
from bench.ws import Socket

HOST = "127.0.0.1"
# The bare view under gunicorn as issue 13 measured it ("about 1,800/s"): its 1,000/s is this share of it.
ISSUE_REFERENCE_PER_S = 1800
MARKER = re.compile(r"call_control_id=v3%3A([A-Za-z0-9_-]+)")


def web_address() -> str:
    return f"{HOST}:{PORTS['web']}"


def client_ceilings(seconds: float = 3) -> dict:
    """What the load clients themselves can do against a server that answers at once."""
    body = events.mix(50, prefix="null")
    requests = [d.http(f"{HOST}:{PORTS['null']}") for d in body]
    with load.NullServer(PORTS["null"]):
        out = {"asyncio_closed_loop_per_s": load.run(
            load.closed_loop(HOST, PORTS["null"], requests, concurrency=16, seconds=seconds))["accepted_per_s"]}
        if load.wrk_available():
            out["wrk_per_s"] = load.wrk(f"http://{HOST}:{PORTS['null']}/", requests, seconds=seconds)["accepted_per_s"]
    return out


# --- 1. ingest ----------------------------------------------------------------------------------
def ingest(stack: Stack, *, seconds: float = 8, rounds: int = 2, rate_cap: int = 6000, paced_rate: int = 1000,
           paced_seconds: float = 5, drain_timeout: float = 600) -> dict:
    """The intake against the bare verify-and-insert view, alternating, same run.

    Two references: the bare view on the same server as the intake (granian), and under gunicorn's
    sync workers, the naive minimum as issue 13 measured it.
    """
    from django.db import connection

    from webhooks.models import WebhookEvent

    runs = {"reference": [], "reference_gunicorn": [], "intake": [], "intake_worker_paused": []}
    checks = []
    count = int(rate_cap * seconds)
    kinds = [("reference", "/bench/bare-webhook/", PORTS["web"]),
             ("reference_gunicorn", "/bench/bare-webhook/", PORTS["gunicorn"]),
             ("intake", "/webhooks/telnyx/", PORTS["web"]), ("intake_worker_paused", "/webhooks/telnyx/", PORTS["web"])]
    _warm_up(stack, [(path, port) for _, path, port in kinds[:3]], drain_timeout)
    for r in range(rounds):
        for kind, path, port in kinds:
            _truncate(connection)
            prefix = f"{''.join(w[0] for w in kind.split('_'))}{r}"
            deliveries = [d.signed(stack.key) for d in events.mix(count, prefix=prefix, seed=r)]
            raw = [d.http(f"{HOST}:{port}", path) for d in deliveries]
            if kind == "intake_worker_paused":
                stack.stop("worker")  # applying events waits: the intake alone, as with workers on other cores
            result = _saturate(path, raw, seconds, port)
            finished = time.monotonic()
            if kind == "intake_worker_paused":
                stack.start_worker()
            if kind.startswith("intake"):
                result["lag_s"] = _wait_processed(finished, drain_timeout)
                checks.append(_check(deliveries, result, f"{prefix}-"))
            result.pop("sent_indexes", None)
            runs[kind].append(result)
    median = {k: sorted(x["accepted_per_s"] for x in v)[len(v) // 2] for k, v in runs.items()}
    # p99 at a fixed, realistic rate (open loop: a stall shows up, it is not hidden by the client slowing down);
    # then at the same share of this machine's speed as 1,000/s was of the machine issue 13 measured on.
    paced = _paced(stack, paced_rate, paced_seconds, "paced", drain_timeout)
    scaled_rate = max(10, round(paced_rate * median["reference_gunicorn"] / ISSUE_REFERENCE_PER_S))
    paced_scaled = _paced(stack, scaled_rate, paced_seconds, "pscaled", drain_timeout)

    def ratio(kind: str, reference: str) -> float | None:
        return median[kind] / median[reference] if median[reference] else None

    return {
        "runs": runs, "checks": checks, "paced": paced, "paced_scaled": paced_scaled,
        "reference_per_s": median["reference"], "reference_gunicorn_per_s": median["reference_gunicorn"],
        "intake_per_s": median["intake"], "intake_worker_paused_per_s": median["intake_worker_paused"],
        "ratio": ratio("intake", "reference"), "ratio_gunicorn": ratio("intake", "reference_gunicorn"),
        "ratio_worker_paused": ratio("intake_worker_paused", "reference"),
        "ratio_worker_paused_gunicorn": ratio("intake_worker_paused", "reference_gunicorn"),
        "lost": sum(c["lost"] for c in checks), "applied_twice": sum(c["applied_twice"] for c in checks),
        "pending_left": sum(c["pending"] for c in checks), "failed": sum(c["failed"] for c in checks),
        "total_events": WebhookEvent.objects.count(),
    }


def _paced(stack: Stack, rate: int, seconds: float, prefix: str, drain_timeout: float) -> dict:
    """Open-loop deliveries at `rate` for `seconds`, then the time until all are applied."""
    from django.db import connection

    _truncate(connection)
    requests = [d.signed(stack.key).http(web_address()) for d in events.mix(int(rate * seconds), prefix=prefix)]
    with load.collector_paused():
        result = load.run(load.paced(HOST, PORTS["web"], requests, rate))
    result["lag_s"] = _wait_processed(time.monotonic(), drain_timeout)
    _truncate(connection)
    return result


def _warm_up(stack: Stack, targets: list[tuple[str, int]], drain_timeout: float, seconds: float = 2) -> None:
    """A short unmeasured load on each (path, port) first: the first measured run otherwise pays for the
    web processes' first requests, new connections and a cold cache (seen: the first reference 30 % slower)."""
    from django.db import connection

    for n, (path, port) in enumerate(targets):
        raw = [d.signed(stack.key).http(f"{HOST}:{port}", path)
               for d in events.mix(int(2000 * seconds), prefix=f"warm{n}")]
        _saturate(path, raw, seconds, port)
    _wait_processed(time.monotonic(), drain_timeout)
    _truncate(connection)


def _saturate(path: str, raw: list[bytes], seconds: float, port: int = PORTS["web"]) -> dict:
    """As many requests as the web server takes, 16 connections: wrk if installed, else the asyncio client."""
    if load.wrk_available():
        return load.wrk(f"http://{HOST}:{port}{path}", raw, seconds=seconds)
    return load.run(load.closed_loop(HOST, port, raw, concurrency=16, seconds=seconds))


def servers(stack: Stack, *, seconds: float = 5) -> dict:
    """Where HTTP is served: the same bare view under granian (production), gunicorn and daphne (ASGI)."""
    from django.db import connection

    out = {}
    for name, port in (("granian", PORTS["web"]), ("gunicorn", PORTS["gunicorn"]), ("daphne", PORTS["ws"])):
        _truncate(connection)
        host = f"{HOST}:{port}"
        raw = [d.signed(stack.key).http(host, "/bench/bare-webhook/")
               for d in events.mix(int(4000 * seconds), prefix=f"srv{name}")]
        result = load.wrk(f"http://{host}/bench/bare-webhook/", raw, seconds=seconds)
        out[name] = {k: result[k] for k in ("accepted_per_s", "p50_ms", "p99_ms")}
    _truncate(connection)
    out["ratio"] = out["gunicorn"]["accepted_per_s"] / max(1.0, out["daphne"]["accepted_per_s"])
    out["granian_vs_gunicorn"] = out["granian"]["accepted_per_s"] / max(1.0, out["gunicorn"]["accepted_per_s"])
    return out


def _truncate(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE webhooks_webhookevent, webhooks_eventkey")  # the dedupe ids too (issue 32)


def _wait_processed(since: float, timeout: float) -> float | None:
    """Seconds from `since` until no event is pending (None if not within `timeout`)."""
    from webhooks.models import WebhookEvent

    deadline = since + timeout
    while time.monotonic() < deadline:
        if not WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exists():
            return round(time.monotonic() - since, 2)
        time.sleep(0.1)
    return None


def _check(deliveries: list[events.Delivery], result: dict, prefix: str) -> dict:
    """Lost and applied-twice, from the database: every accepted delivery is stored, each applied once."""
    from webhooks.models import WebhookEvent

    sent = {deliveries[i].event_id for i in result.get("sent_indexes", range(len(deliveries)))}
    rows = WebhookEvent.objects.filter(event_id__startswith=prefix)
    stored = set(rows.values_list("event_id", flat=True))
    missing = len(sent - stored)
    unanswered = max(0, len(result.get("sent_indexes", [])) - result.get("ok", 0) - result.get("other", 0))
    return {
        "sent_distinct": len(sent), "stored": len(stored), "missing": missing, "unanswered_at_stop": unanswered,
        # A request still in flight when the client stopped may never have reached the server.
        "lost": max(0, missing - unanswered),
        "applied_twice": rows.filter(attempts__gt=1).count(),
        "pending": rows.filter(status=WebhookEvent.Status.PENDING).count(),
        "failed": rows.filter(status=WebhookEvent.Status.FAILED).count(),
        "duplicates_sent": sum(d.duplicate for d in deliveries),
    }


# --- 2. live latency ----------------------------------------------------------------------------
def live(stack: Stack, cookie: str, *, rates=(10, 100, 300, 500, 1000), clients=(1, 50), seconds: float = 6,
         settle: float = 10) -> list[dict]:
    """POST (to granian) to websocket frame (from daphne) for every marker and every subscribed socket."""
    return load.run(_live(stack, cookie, rates, clients, seconds, settle))


async def _live(stack, cookie, rates, clients, seconds, settle) -> list[dict]:
    out = []
    for n in clients:
        sockets = [Socket(HOST, PORTS["ws"], "/ws/live/?subscribe=events", cookie) for _ in range(n)]
        await asyncio.gather(*(s.connect() for s in sockets))
        await asyncio.sleep(1.0)  # subscriptions settle
        for rate in rates:
            await asyncio.to_thread(_wait_processed, time.monotonic(), 300)  # start from an idle worker
            # Captures the ingest part queued may still be running on the same worker: say how many.
            capturing = await asyncio.to_thread(_recordings_to_capture)
            for s in sockets:
                s.frames.clear()
            prefix = f"L{n}r{rate}x"
            deliveries = [d.signed(stack.key) for d in events.marked(int(rate * seconds), prefix=prefix)]
            markers = [d.marker.removeprefix("v3:") for d in deliveries]
            sent_at: dict[str, float] = {}

            def on_sent(i: int, t: float, sent_at=sent_at, markers=markers) -> None:
                sent_at[markers[i]] = t

            requests = [d.http(web_address()) for d in deliveries]
            wanted = set(markers)
            with load.collector_paused():
                result = await load.paced(HOST, PORTS["web"], requests, rate, on_sent=on_sent)
                # Wait for every marker on every socket; a marker still missing `settle` seconds after
                # the last event was applied counts as dropped (a backlog is latency, not loss).
                applied = await asyncio.to_thread(_wait_processed, time.monotonic(), 300)
                deadline = time.monotonic() + settle
                while time.monotonic() < deadline and not all(wanted <= _seen(s) for s in sockets):
                    await asyncio.sleep(0.1)
            latencies, received, earliest = [], 0, {}
            for s in sockets:
                first: dict[str, float] = {}
                for arrived, text in s.frames:
                    for marker in MARKER.findall(text):
                        first.setdefault(marker, arrived)
                for marker in wanted & first.keys():
                    latencies.append(first[marker] - sent_at[marker])
                    earliest[marker] = min(earliest.get(marker, first[marker]), first[marker])
                received += len(wanted & first.keys())
            # The first socket's arrival is the pipeline (intake, drain, publish); the rest is fan-out.
            first_socket = load.percentiles([earliest[m] - sent_at[m] for m in earliest])
            out.append({
                "clients": n, "rate": rate, "events": len(deliveries), "post_p99_ms": result["p99_ms"],
                "applied_after_last_post_s": applied, "recordings_to_capture_at_start": capturing,
                "frames": sum(len(s.frames) for s in sockets), "dropped": len(deliveries) * n - received,
                **load.percentiles(latencies),
                "first_socket_p50_ms": first_socket["p50_ms"], "first_socket_p95_ms": first_socket["p95_ms"],
            })
        await asyncio.gather(*(s.close() for s in sockets))
    return out


def _recordings_to_capture() -> int:
    from recordings.models import Recording

    return Recording.objects.filter(status__in=[Recording.Status.SAVED, Recording.Status.DOWNLOADING]).count()


def _seen(socket: Socket) -> set[str]:
    found: set[str] = set()
    for _, text in socket.frames:
        found.update(MARKER.findall(text))
    return found


def live_dom(stack: Stack, cookie_value: str, *, count: int = 20, interval: float = 0.5) -> dict:
    """Once in headless Chromium: POST to the row appearing in the Events page's DOM (page served by daphne)."""
    import http.client

    from playwright.sync_api import sync_playwright

    deliveries = [d.signed(stack.key) for d in events.marked(count, prefix="DOMx")]
    _wait_processed(time.monotonic(), 300)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": cookie_value, "domain": HOST, "path": "/"}])
        page = context.new_page()
        page.goto(f"http://{HOST}:{PORTS['ws']}/events/")
        page.wait_for_selector('body[data-live="connected"]', timeout=20000)
        page.wait_for_timeout(1500)  # the refresh on open settles
        page.evaluate("""() => {
            window.__seen = {};
            const scan = () => document.querySelectorAll('a[href*="call_control_id=v3%3ADOMx"]').forEach(a => {
                const m = decodeURIComponent(a.getAttribute('href').split('call_control_id=')[1]);
                if (!(m in window.__seen)) window.__seen[m] = Date.now();
            });
            new MutationObserver(scan).observe(document.body, {subtree: true, childList: true});
        }""")
        sent = {}
        for d in deliveries:
            connection = http.client.HTTPConnection(HOST, PORTS["web"], timeout=10)
            sent[d.marker] = time.time() * 1000
            connection.request("POST", "/webhooks/telnyx/", body=d.body, headers={"Content-Type": "application/json", **d.headers})
            connection.getresponse().read()
            connection.close()
            time.sleep(interval)
        page.wait_for_timeout(3000)
        seen = page.evaluate("() => window.__seen")
        browser.close()
    latencies = [(seen[m] - sent[m]) / 1000 for m in sent if m in seen]
    return {"events": count, "dropped": count - len(latencies), **load.percentiles(latencies)}
