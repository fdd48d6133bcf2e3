"""Load clients: wrk for saturation (C, cheap per request) and a paced asyncio client for fixed rates."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

WRK_SCRIPT = r"""
local threads = {}
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  local f = assert(io.open(os.getenv("BENCH_WRK_DIR") .. "/requests-" .. id .. ".bin", "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  local pos = 1
  while pos <= #data do
    local nl = string.find(data, "\n", pos, true)
    local len = tonumber(string.sub(data, pos, nl - 1))
    reqs[#reqs + 1] = string.sub(data, nl + 1, nl + len)
    pos = nl + 1 + len
  end
  sent = 0
  ok = 0
  other = 0
end
function request()
  sent = sent + 1
  return reqs[((sent - 1) % #reqs) + 1]
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local per_thread = {}
  for _, t in ipairs(threads) do
    per_thread[#per_thread + 1] = string.format('{"sent": %d, "ok": %d, "other": %d}', t:get("sent"), t:get("ok"), t:get("other"))
  end
  local f = assert(io.open(os.getenv("BENCH_WRK_DIR") .. "/result.json", "w"))
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "threads": [%s]}',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, table.concat(per_thread, ", ")))
  f:close()
end
"""


def run(coroutine):
    """asyncio.run, on uvloop when installed (the `bench` extra): it roughly doubles the client's ceiling."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(url: str, requests: list[bytes], *, threads: int = 2, connections: int = 16, seconds: float = 8) -> dict:
    """Run wrk against `url` cycling through pre-built raw requests; thread i sends requests i, i+T, ..."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        for t in range(threads):
            with open(Path(folder) / f"requests-{t}.bin", "wb") as out:
                for raw in requests[t::threads]:
                    out.write(f"{len(raw)}\n".encode() + raw)
        (Path(folder) / "script.lua").write_text(WRK_SCRIPT)
        subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
             "-s", str(Path(folder) / "script.lua"), url],
            check=True, capture_output=True, env={**os.environ, "BENCH_WRK_DIR": folder}, timeout=seconds + 60,
        )
        result = json.loads((Path(folder) / "result.json").read_text())
    seconds_run = result["duration_us"] / 1e6
    ok = sum(t["ok"] for t in result["threads"])
    sent = [t["sent"] for t in result["threads"]]
    return {
        "client": "wrk", "accepted_per_s": ok / seconds_run, "ok": ok, "other": sum(t["other"] for t in result["threads"]),
        "errors": result["errors"], "p50_ms": result["p50_us"] / 1000, "p95_ms": result["p95_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000, "max_ms": result["max_us"] / 1000, "seconds": seconds_run,
        # Which requests went out: thread t sent the first sent[t] of its slice (cycling if it ran out).
        "sent_indexes": sorted({t + threads * (k % len(requests[t::threads])) for t in range(threads) for k in range(sent[t])}),
    }


async def request(host: str, port: int, raw: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send one raw HTTP/1.1 request on a fresh connection and read the whole answer."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(raw)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, body
    finally:
        writer.close()


@contextlib.contextmanager
def collector_paused():
    """No garbage-collector pauses in this (the load) process while it times requests or frames.

    A full collection over the client's deliveries and received frames stopped it for up to 160 ms
    in the live part, stamping every frame that arrived meanwhile late (all sockets alike). Objects
    that exist before the window are frozen out of later collections; the collector is off inside.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def paced(host: str, port: int, requests: list[bytes], rate: float, *, on_sent=None) -> dict:
    """Open-loop load: request i leaves at t0 + i/rate whatever happened before (no coordinated omission).

    Latency is measured from the scheduled time, so a stalled server shows up in the percentiles.
    `on_sent(i, t)` is called with the wall-clock time each request is written.
    """
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(i: int, due: float) -> None:
        if on_sent:
            on_sent(i, time.time())
        try:
            status, _ = await request(host, port, requests[i])
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            status = 0
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(loop.time() - due)

    start = loop.time() + 0.05
    tasks = []
    for i in range(len(requests)):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    return {"client": "asyncio (open loop)", "rate": rate, "achieved_per_s": len(requests) / elapsed,
            "statuses": statuses, **percentiles(latencies)}


async def closed_loop(host: str, port: int, requests: list[bytes], *, concurrency: int, seconds: float) -> dict:
    """`concurrency` clients each sending the next request as soon as the previous one is answered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    latencies: list[float] = []
    counter = iter(range(10**9))
    ok = 0

    async def client() -> None:
        nonlocal ok
        while loop.time() < deadline:
            i = next(counter)
            began = loop.time()
            status, _ = await request(host, port, requests[i % len(requests)])
            latencies.append(loop.time() - began)
            ok += status == 200

    began = loop.time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {"client": "asyncio (closed loop)", "accepted_per_s": ok / (loop.time() - began), **percentiles(latencies)}


def percentiles(samples: list[float], scale: float = 1000.0) -> dict:
    """p50/p95/p99/max of seconds, in milliseconds."""
    if not samples:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale, 2)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * scale, 2)}


class NullServer:
    """A loopback server that answers every request at once: the load clients' own ceiling."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> NullServer:
        code = (
            "import asyncio\n"
            "async def handle(r, w):\n"
            "    try:\n"
            "        head = await r.readuntil(b'\\r\\n\\r\\n')\n"
            "        n = [int(l.split(b':')[1]) for l in head.split(b'\\r\\n') if l.lower().startswith(b'content-length')]\n"
            "        await r.readexactly(n[0] if n else 0)\n"
            f"        w.write({self.ANSWER!r}); await w.drain()\n"
            "    except Exception: pass\n"
            "    w.close()\n"
            "async def main():\n"
            f"    s = await asyncio.start_server(handle, '127.0.0.1', {self.port}, backlog=1024)\n"
            "    async with s: await s.serve_forever()\n"
            "asyncio.run(main())\n"
        )
        self.process = subprocess.Popen(["python3", "-c", code])
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(5)


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
