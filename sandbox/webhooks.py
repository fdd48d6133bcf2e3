"""Outgoing webhooks: documented payload fields only, Ed25519-signed as Telnyx signs, delivered on time."""
from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import json
import logging
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from nacl.signing import SigningKey

from sandbox.wire import Emit, stamp
from sandbox.world import World

log = logging.getLogger("sandbox.webhooks")
DOCUMENTED_FIELDS: dict[str, list[str]] = json.loads(Path(__file__).with_name("events.json").read_text())


def load_or_create_key(path: Path) -> SigningKey:
    """The sandbox's signing key, kept in a file so the portal can trust it across restarts."""
    if path.exists():
        return SigningKey(bytes.fromhex(path.read_text().strip()))
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bytes(key).hex())
    path.chmod(0o600)
    return key


def public_key_b64(key: SigningKey) -> str:
    return base64.b64encode(bytes(key.verify_key)).decode()


def sign(key: SigningKey, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Telnyx's headers: base64 Ed25519 signature over f"{timestamp}|{body}"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = key.sign(f"{timestamp}|".encode() + body).signature
    return {"telnyx-signature-ed25519": base64.b64encode(signature).decode(), "telnyx-timestamp": str(timestamp)}


class Dispatcher:
    """Schedules the webhooks commands and traffic cause, and posts them to the portal."""

    def __init__(self, world: World, key: SigningKey, url: str | None, pace: float = 1.0):
        self.world, self.key, self.url, self.pace = world, key, url, pace
        self.pending: list = []
        self.sequence = itertools.count()
        self.wakeup = asyncio.Event()
        self.faults = {"duplicate": 0, "reorder": 0}
        self.sent: deque = deque(maxlen=2000)  # (event_type, event_id, status) as delivered
        self.client = httpx.AsyncClient(timeout=10)
        self.ready = asyncio.Event()  # set once the portal answers (traffic waits for it too)

    async def wait_for_portal(self, max_wait: float = 120.0, every: float = 0.5) -> bool:
        """Poll the webhook URL until the portal answers anything at all (a GET on it is a 405).

        Under `make run` the sandbox starts in a fraction of the time daphne takes; without this its
        first webhooks fail, are retried with backoff, and the log fills with connection errors.
        """
        if not self.url:
            self.ready.set()
            return True
        deadline = time.monotonic() + max_wait
        announced = False
        while True:
            try:
                await self.client.get(self.url, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() >= deadline:
                    log.warning("portal at %s still not answering after %.0f s; sending webhooks anyway", self.url, max_wait)
                    break
                if not announced:
                    log.info("waiting for the portal at %s before sending webhooks", self.url)
                    announced = True
                await asyncio.sleep(every)
        if announced:
            log.info("portal is up; sending webhooks to %s", self.url)
        self.ready.set()
        return True

    def document(self, emit: Emit, at: datetime) -> dict:
        fields = DOCUMENTED_FIELDS.get(emit.event_type)
        payload = {k: v for k, v in emit.payload.items() if fields is None or k in fields}
        if fields and "occurred_at" in fields:
            payload["occurred_at"] = stamp(at)
        return {
            "data": {"record_type": "event", "event_type": emit.event_type, "id": self.world.new_id(),
                     "occurred_at": stamp(at), "payload": payload},
            "meta": {"attempt": 1, "delivered_to": self.url},
        }

    def schedule(self, emits: list[Emit]) -> list[dict]:
        """Queue emits relative to now; occurred_at is fixed now, so reordering keeps the true times."""
        base = time.monotonic()
        documents = []
        for emit in emits:
            delay = emit.delay * self.pace
            document = self.document(emit, datetime.now(UTC) + timedelta(seconds=delay))
            heapq.heappush(self.pending, (base + delay, next(self.sequence), document))
            documents.append(document)
        self.wakeup.set()
        return documents

    async def run(self) -> None:
        await self.wait_for_portal()
        while True:
            if not self.pending:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            due = self.pending[0][0] - time.monotonic()
            if due > 0:
                self.wakeup.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races
                # with the wakeup, leaving this loop (and whoever awaits its cancellation) stuck.
                try:
                    async with asyncio.timeout(due):
                        await self.wakeup.wait()
                except TimeoutError:
                    pass
                continue
            batch = [heapq.heappop(self.pending)[2]]
            if self.faults["reorder"] > 0:
                while self.pending and len(batch) < 2:
                    batch.append(heapq.heappop(self.pending)[2])
                batch.reverse()
                self.faults["reorder"] -= 1
            for document in batch:
                copies = 1
                if self.faults["duplicate"] > 0:
                    self.faults["duplicate"] -= 1
                    copies = 2
                for _ in range(copies):
                    await self.deliver(document)
            await asyncio.sleep(0)  # a backlog must never starve the loop (or cancellation)

    async def deliver(self, document: dict, attempts: int = 6) -> int | None:
        if not self.url:
            self.sent.append((document["data"]["event_type"], document["data"]["id"], None))
            return None
        for attempt in range(1, attempts + 1):
            document["meta"]["attempt"] = attempt
            body = json.dumps(document).encode()
            try:
                response = await self.client.post(self.url, content=body, headers={"content-type": "application/json", **sign(self.key, body)})
                status = response.status_code
            except httpx.HTTPError as exc:
                log.warning("webhook %s not delivered: %s", document["data"]["event_type"], exc)
                status = None
            if status is not None and status < 500:
                self.sent.append((document["data"]["event_type"], document["data"]["id"], status))
                return status
            if attempt < attempts:
                await asyncio.sleep(min(8.0, 0.5 * 2 ** attempt) * max(self.pace, 0.01))
        self.sent.append((document["data"]["event_type"], document["data"]["id"], status))
        return status
