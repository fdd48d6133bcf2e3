"""The sandbox served over real HTTP in a thread, with a receiver collecting its webhooks."""
import socket
import threading
import time

import pytest
import telnyx
import uvicorn
from nacl.signing import SigningKey
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.app import create_app
from sandbox.webhooks import public_key_b64
from sandbox.world import World


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """Run an ASGI app with uvicorn on a free port in a background thread."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Receiver:
    """Stands in for the portal's webhook endpoint: keeps raw bodies and headers."""

    def __init__(self, status: int = 200):
        self.deliveries = []
        self.status = status

        async def receive(request):
            self.deliveries.append({"body": await request.body(), "headers": dict(request.headers)})
            return JSONResponse({}, status_code=self.status)

        self.app = Starlette(routes=[Route("/webhooks/telnyx/", receive, methods=["POST"])])

    def events(self, wait_for: int = 0, timeout: float = 5.0) -> list[dict]:
        import json

        deadline = time.time() + timeout
        while len(self.deliveries) < wait_for and time.time() < deadline:
            time.sleep(0.02)
        return [json.loads(d["body"])["data"] for d in self.deliveries]

    def types(self, wait_for: int = 0) -> list[str]:
        return [e["event_type"] for e in self.events(wait_for)]


class Sandbox:
    def __init__(self, server, receiver, key, world):
        self.server, self.receiver, self.key, self.world = server, receiver, key, world
        self.client = telnyx.Telnyx(api_key="KEY_SANDBOX", base_url=f"{server.url}/v2", max_retries=0, timeout=3,
                                    public_key=public_key_b64(key))

    def call(self, **options) -> str:
        import httpx

        return httpx.post(f"{self.server.url}/_sandbox/calls", json=options).json()["data"]["call_control_id"]


@pytest.fixture(scope="module")
def running_sandbox():
    receiver = Receiver()
    key = SigningKey.generate()
    world = World(seed=3)
    with ServerThread(receiver.app) as hook:
        app = create_app(key=key, webhook_url=f"{hook.url}/webhooks/telnyx/", world=world, pace=0.0)
        with ServerThread(app) as server:
            world.media_base_url = server.url
            yield Sandbox(server, receiver, key, world), app


@pytest.fixture
def sandbox(running_sandbox):
    """The module's sandbox with no faults armed and an empty webhook inbox."""
    sandbox, app = running_sandbox
    app.state.faults.clear()
    app.state.dispatcher.faults.update(duplicate=0, reorder=0)
    time.sleep(0.05)  # let stragglers from the previous test land before clearing
    sandbox.receiver.deliveries.clear()
    return sandbox


@pytest.fixture
def wired(sandbox, settings):
    """Point the portal's gateway at the sandbox and trust the sandbox's signing key."""
    from portal import gateway
    from sandbox.webhooks import public_key_b64

    settings.TELNYX_BASE_URL = f"{sandbox.server.url}/v2"
    settings.TELNYX_PUBLIC_KEY = public_key_b64(sandbox.key)
    gateway._client.cache_clear()
    return sandbox


def forward(sandbox, client, capture, count) -> list[int]:
    """Hand the sandbox's webhook deliveries to the portal byte for byte; every one must be accepted."""
    sandbox.receiver.events(wait_for=count)
    statuses = []
    for delivery in list(sandbox.receiver.deliveries):
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery["headers"].items() if k.startswith("telnyx-")}
        with capture(execute=True):
            statuses.append(client.post("/webhooks/telnyx/", data=delivery["body"], content_type="application/json", **headers).status_code)
    sandbox.receiver.deliveries.clear()
    assert set(statuses) <= {200}, statuses
    return statuses
