"""The websocket side apart (issue 25): how many frames a second one daphne delivers to 50 open pages.

No intake and no drain: this process publishes Events-page rows straight into the channel layer, as a
drain's publisher does (portal/live.send_now), each carrying its own marker, at a paced rate. Every socket
times each marker from publish to frame; daphne's CPU over the run comes from /proc. Frames a second
per daphne core (delivered / daphne's CPU share) is the figure to size ws processes with. The reference,
measured in the same run: a second daphne whose live socket keeps channels' own dispatch.
"""
from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

from bench import load
from bench.parts import HOST, MARKER
from bench.stack import PORTS, Stack, _tree
from bench.ws import Socket

TICK = os.sysconf("SC_CLK_TCK")


def fanout(stack: Stack, cookie: str, *, rates=(100, 200, 400), clients: int = 50, seconds: float = 5,
           settle: float = 10) -> list[dict]:
    """Each rate against the reference daphne (channels' own dispatch, bench/reference_asgi.py), then the portal's."""
    stack.start_ws_reference()
    try:
        out = []
        for server in ("ws_reference", "ws"):
            for row in load.run(_fanout(stack, server, cookie, rates, clients, seconds, settle)):
                out.append({"server": "reference" if server == "ws_reference" else "portal", **row})
        return out
    finally:
        stack.stop("ws_reference")


async def _fanout(stack, server, cookie, rates, clients, seconds, settle) -> list[dict]:
    from portal import live

    sockets = [Socket(HOST, PORTS[server], "/ws/live/?subscribe=events", cookie) for _ in range(clients)]
    await asyncio.gather(*(s.connect() for s in sockets))
    await asyncio.sleep(1.0)  # subscriptions settle
    daphne = stack.processes[server].pid
    out = []
    for rate in rates:
        for s in sockets:
            s.frames.clear()
        count = int(rate * seconds)
        markers = [f"F{rate}x{i}" for i in range(count)]
        rows = [_row(i, marker) for i, marker in enumerate(markers)]
        sent_at: dict[str, float] = {}
        with load.collector_paused():
            cpu_before, began = _cpu(daphne), time.monotonic()
            for i, (marker, html) in enumerate(zip(markers, rows, strict=True)):
                due = began + i / rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                sent_at[marker] = time.time()
                live.send_now("events", html)
            wanted = set(markers)
            deadline = time.monotonic() + settle
            seen = [_Seen(s) for s in sockets]  # read as frames arrive: rescanning them all stalled this loop
            while time.monotonic() < deadline and not all(wanted <= each.update() for each in seen):
                await asyncio.sleep(0.05)
            elapsed, cpu = time.monotonic() - began, _cpu(daphne) - cpu_before
        latencies, received = [], 0
        for s in sockets:
            first: dict[str, float] = {}
            for arrived, text in s.frames:
                for marker in MARKER.findall(text):
                    first.setdefault(marker, arrived)
            latencies.extend(first[m] - sent_at[m] for m in wanted & first.keys())
            received += len(wanted & first.keys())
        out.append({
            "clients": clients, "rate": rate, "messages": count, "delivered": received,
            "dropped": count * clients - received, "frames": sum(len(s.frames) for s in sockets),
            "delivered_per_s": round(received / seconds), "daphne_cpu_share": round(cpu / elapsed, 2),
            "delivered_per_daphne_cpu_s": round(received / cpu) if cpu else None,
            **load.percentiles(latencies),
        })
    await asyncio.gather(*(s.close() for s in sockets))
    return out


class _Seen:
    """The markers a socket received so far, reading only the frames that arrived since the last look."""

    def __init__(self, socket: Socket):
        self.socket, self.read, self.markers = socket, 0, set()

    def update(self) -> set[str]:
        frames = self.socket.frames
        for _, text in frames[self.read:]:
            self.markers.update(MARKER.findall(text))
        self.read = len(frames)
        return self.markers


def _row(i: int, marker: str) -> str:
    """An Events-page row as a drain publishes it (the live part's markers are call_control_ids too)."""
    from webhooks.models import WebhookEvent
    from webhooks.rows import event_row

    event = WebhookEvent(pk=10_000_000 + i, event_type="call.answered", call_control_id=f"v3:{marker}",
                         status=WebhookEvent.Status.PROCESSED, attempts=1, received_at=datetime.now(UTC))
    return str(event_row(event, oob=True, new=True))


def _cpu(pid: int) -> float:
    """CPU seconds of a process and its children so far (daphne is one process; its tree to be safe)."""
    total = 0
    for each in _tree(pid):
        try:
            fields = open(f"/proc/{each}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115, PTH123
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK
