"""A fake Telnyx over real HTTP on loopback that can misbehave: answer, stall, refuse by status, or drop the connection.

Not respx: the faults that matter here live in the socket (a connection closed after the request was
read, a reset, an answer that never comes), and only a real server shows what the SDK and httpx make of
them. Each request is recorded whole before the fault is played, so a test counts what Telnyx received.

    fake = FakeTelnyx()
    fake.script("/v2/conferences/c1/actions/send_dtmf", Drop())              # every request to that path
    fake.script("/v2/conferences/c1/actions/speak", Status(500), Ok())        # first a 500, then success
    settings.TELNYX_BASE_URL = fake.base_url
"""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

OK_BODY = {"data": {"result": "ok"}}


@dataclass
class Ok:
    body: dict = field(default_factory=lambda: dict(OK_BODY))


@dataclass
class Status:
    """An HTTP error answer, e.g. Status(429, headers={"Retry-After": "1"})."""

    code: int
    body: dict | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Slow:
    """Answer `then` only after `seconds` (longer than the client's timeout: it gives up first)."""

    seconds: float
    then: object = field(default_factory=Ok)


@dataclass
class Drop:
    """Read the whole request, then close without a word (reset=True: an RST, "connection reset by peer")."""

    reset: bool = False


REASONS = {200: "OK", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}


class FakeTelnyx:
    """Records every request as (method, path, json body); plays scripted behaviours per path (default Ok)."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []
        self._scripts: dict[str, list] = {}
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v2"
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def script(self, path: str, *behaviours) -> None:
        """Behaviours for successive requests to `path` (under /v2); the last one repeats."""
        with self._lock:
            self._scripts[path] = list(behaviours)

    def received(self, path: str, method: str = "POST") -> list[dict]:
        """The JSON bodies of every request with `method` that reached `path`, in order."""
        with self._lock:
            return [body for m, p, body in self.requests if m == method and p == path]

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    # --- serving -----------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            reader = conn.makefile("rb")
            while True:  # keep-alive: httpx reuses the connection
                request = _read_request(reader)
                if request is None:
                    return
                method, path, body = request
                with self._lock:
                    self.requests.append((method, path, body))
                    queue = self._scripts.get(path) or [Ok()]
                    behaviour = queue.pop(0) if len(queue) > 1 else queue[0]
                if not self._play(conn, behaviour):
                    return

    def _play(self, conn: socket.socket, behaviour) -> bool:
        """Answer one request; False when the connection is gone."""
        if isinstance(behaviour, Slow):
            time.sleep(behaviour.seconds)
            behaviour = behaviour.then
        if isinstance(behaviour, Drop):
            if behaviour.reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if isinstance(behaviour, Status):
            code, body, headers = behaviour.code, behaviour.body, behaviour.headers
            if body is None:
                body = {"errors": [{"code": str(code), "title": REASONS.get(code, "Error"), "detail": f"fake {code}"}]}
        else:
            code, body, headers = 200, behaviour.body, {}
        payload = json.dumps(body).encode()
        head = [f"HTTP/1.1 {code} {REASONS.get(code, 'Status')}", "Content-Type: application/json",
                f"Content-Length: {len(payload)}", *(f"{k}: {v}" for k, v in headers.items())]
        try:
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        except OSError:
            return False
        return True


def _read_request(reader) -> tuple[str, str, dict] | None:
    try:
        line = reader.readline()
        if not line:
            return None
        method, path, _ = line.decode().split(" ", 2)
        length = 0
        while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        raw = reader.read(length) if length else b""
    except (OSError, ValueError):
        return None
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {"_raw": raw.decode(errors="replace")}
    return method, path.split("?", 1)[0], body


def unreachable_base_url() -> str:
    """A loopback address where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v2"
