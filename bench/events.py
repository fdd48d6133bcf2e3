"""Signed Telnyx deliveries for the benchmarks: a realistic mix of the 46 types, duplicates, late arrivals."""
from __future__ import annotations

import base64
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nacl.signing import SigningKey

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "events"
# Recording links in the fixtures point at example.com: every link is rewritten to the fake Telnyx on
# loopback, so a worker capturing recordings during a benchmark never reaches out of the machine.
MEDIA_BASE = f"http://127.0.0.1:{int(os.environ.get('BENCH_PORT_BASE', '8610')) + 2}/media"  # bench/stack.py's telnyx port
# How often each type shows up in a call centre's stream, relative to one: the call lifecycle and the
# conference roster dominate; the rarer types still appear in every mix of a few hundred events.
WEIGHTS = {
    "call.initiated": 8, "call.answered": 8, "call.hangup": 8, "call.bridged": 5, "call.enqueued": 4,
    "call.dequeued": 4, "call.speak.started": 3, "call.speak.ended": 3, "call.playback.started": 3,
    "call.playback.ended": 3, "call.dtmf.received": 3, "conference.participant.joined": 5,
    "conference.participant.left": 5, "conference.floor.changed": 6, "conference.participant.speak.started": 2,
    "conference.participant.speak.ended": 2, "call.recording.saved": 2, "conference.recording.saved": 1,
    "conference.created": 2, "conference.ended": 2, "call.transcription": 2,
}


def fixture_types() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


@dataclass
class Delivery:
    """One POST as Telnyx would send it; `marker` is the call_control_id the live pages show."""

    event_id: str
    event_type: str
    body: bytes
    marker: str
    duplicate: bool = False
    headers: dict = field(default_factory=dict)

    def signed(self, key: SigningKey, timestamp: int | None = None) -> Delivery:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = key.sign(stamp.encode() + b"|" + self.body).signature
        self.headers = {"telnyx-signature-ed25519": base64.b64encode(signature).decode(), "telnyx-timestamp": stamp}
        return self

    def http(self, host: str, path: str = "/webhooks/telnyx/") -> bytes:
        """The raw HTTP/1.1 request (for wrk and the asyncio client)."""
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
                f"Content-Length: {len(self.body)}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


def mix(count: int, *, prefix: str, seed: int = 13, duplicates: float = 0.05, reorder: float = 0.05,
        types: list[str] | None = None, calls: int | None = None) -> list[Delivery]:
    """`count` deliveries of every fixture type (weighted), `duplicates` of them repeats, `reorder` late.

    Each event belongs to one of `calls` calls (about a dozen events per call), with occurred_at moving
    forward; `reorder` of them are sent after the next one, as Telnyx does not promise order.
    """
    rng = random.Random(seed)
    documents = {t: json.loads((FIXTURES / f"{t}.json").read_text()) for t in (types or fixture_types())}
    names = sorted(documents)
    weights = [WEIGHTS.get(t, 1) for t in names]
    calls = calls or max(1, count // 12)
    started = datetime.now(UTC) - timedelta(seconds=count)
    originals = count - int(count * duplicates)
    out: list[Delivery] = []
    for i in range(originals):
        event_type = names[i] if i < len(names) else rng.choices(names, weights)[0]  # every type at least once
        call = rng.randrange(calls)
        document = json.loads(json.dumps(documents[event_type]))
        data = document.get("data", document)
        data["id"] = f"{prefix}-{i}"
        data["occurred_at"] = (started + timedelta(milliseconds=i * 1000 + rng.randrange(500))).isoformat().replace("+00:00", "Z")
        marker = f"v3:{prefix}{call}"[:24]
        payload = data["payload"]
        payload["call_control_id"] = marker
        payload["call_session_id"] = f"session-{prefix}-{call}"
        payload["call_leg_id"] = f"leg-{prefix}-{call}"
        if "conference_id" in payload or event_type.startswith("conference."):
            payload["conference_id"] = f"conf-{prefix}-{call // 4}"
        if "queue" in payload:
            payload["queue"] = f"queue-{call % 20}"
        if "recording_id" in payload:
            payload["recording_id"] = f"rec-{prefix}-{i}"
        for key, value in list(payload.items()):
            if "url" in key and isinstance(value, dict):
                payload[key] = {fmt: f"{MEDIA_BASE}/{prefix}-{i}.{fmt}" for fmt in value}
            elif "url" in key and isinstance(value, str):
                payload[key] = f"{MEDIA_BASE}/{prefix}-{i}"
        out.append(Delivery(data["id"], event_type, json.dumps(document).encode(), marker))
    for i in range(len(out) - 1):  # late arrivals: swap with the next one
        if rng.random() < reorder:
            out[i], out[i + 1] = out[i + 1], out[i]
    for _ in range(count - originals):  # redeliveries of events already sent
        position = rng.randrange(1, len(out))
        original = out[rng.randrange(position)]
        out.insert(position, Delivery(original.event_id, original.event_type, original.body, original.marker, True))
    return out


def marked(count: int, *, prefix: str, seed: int = 7) -> list[Delivery]:
    """Deliveries that each carry their own marker (live latency: one marker, one row on the page)."""
    types = [t for t in fixture_types() if "call_control_id" in _payload(t)]
    deliveries = mix(count, prefix=prefix, seed=seed, duplicates=0, reorder=0, types=types, calls=count)
    for i, delivery in enumerate(deliveries):
        document = json.loads(delivery.body)
        data = document.get("data", document)
        delivery.marker = data["payload"]["call_control_id"] = f"v3:{prefix}{i}"[:24]
        delivery.body = json.dumps(document).encode()
    return deliveries


def _payload(event_type: str) -> dict:
    document = json.loads((FIXTURES / f"{event_type}.json").read_text())
    return document.get("data", document)["payload"]
