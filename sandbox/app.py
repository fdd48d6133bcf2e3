"""The sandbox's HTTP face: Telnyx's /v2 endpoints, recordings' audio, and a /_sandbox control API."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sandbox import (
    actions,  # noqa: F401 - importing it registers its handlers (dialing's: imported below)
    spec,
)
from sandbox.audio import tone_wav
from sandbox.dialing import dial_outcomes_endpoint
from sandbox.faults import Faults
from sandbox.registry import HANDLERS
from sandbox.traffic import Traffic
from sandbox.webhooks import Dispatcher
from sandbox.wire import NotFound, Unprocessable
from sandbox.world import World

log = logging.getLogger("sandbox")
ENDPOINTS = spec.load()


def error(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> JSONResponse:
    item = {"code": code, "title": title, "detail": detail}
    if pointer:
        item["source"] = {"pointer": pointer}
    return JSONResponse({"errors": [item]}, status_code=status)


def unprocessable(problems: list[tuple[str, str]]) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"code": "10032", "title": "Invalid parameter", "detail": detail, "source": {"pointer": f"/{name}"}}
                    for name, detail in problems]},
        status_code=422,
    )


def match(method: str, path: str):
    for endpoint in ENDPOINTS:
        if endpoint.method == method:
            found = endpoint.pattern.match(path)
            if found:
                return endpoint, found.groupdict()
    return None, None


def create_app(
    *, key, webhook_url: str | None, world: World | None = None, pace: float = 1.0, api_key: str | None = None,
    traffic_rate: float = 0.0, seed: int | None = None,
) -> Starlette:
    """Build the simulator. `api_key` None accepts any bearer token; `traffic_rate` is new calls a minute.

    `seed` None: a fresh seed (World's); either way the ids carry the world's own run part.
    """
    world = world or World(seed=seed)
    dispatcher = Dispatcher(world, key, webhook_url, pace=pace)
    faults = Faults()
    traffic = Traffic(world, dispatcher, rate_per_minute=traffic_rate)
    requests_seen: deque = deque(maxlen=500)

    async def api(request: Request):
        path = "/" + request.path_params["path"]
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not token or (api_key and token != api_key):
            return error(401, "10009", "Authentication failed", "Could not understand the provided credentials.")
        endpoint, path_params = match(request.method, path)
        if endpoint is None:
            return error(404, "10005", "Resource not found", f"No route for {request.method} {path}.")
        fault = faults.take(request.method, path)
        if fault:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                return _dropped()
            if fault.status:
                headers = {"retry-after": str(int(fault.retry_after))} if fault.retry_after is not None else {}
                response = error(fault.status, str(fault.status), "Injected fault", fault.detail)
                response.headers.update(headers)
                return response
        body = {}
        if request.method != "GET":
            raw = await request.body()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    return unprocessable([("", "The request body is not valid JSON.")])
                if not isinstance(body, dict):
                    return unprocessable([("", "The request body must be a JSON object.")])
            problems = spec.check(endpoint, body)
            if problems:
                requests_seen.append({"method": request.method, "path": path, "body": body, "status": 422})
                return unprocessable(problems)
        query = dict(request.query_params)
        target = next(iter(path_params.values()), "")
        with world.lock:
            if world.is_repeat(target, body.get("command_id")):
                status, data, emits = 200, {"data": {"result": "ok"}}, []
            else:
                try:
                    status, data, emits = HANDLERS[endpoint.name](world, path_params, body, query)
                except NotFound as exc:
                    status, data, emits = 404, {"errors": [{"code": "10005", "title": "Resource not found", "detail": str(exc)}]}, []
                except Unprocessable as exc:
                    status, data, emits = 422, {"errors": [{"code": exc.code, "title": "Unprocessable entity", "detail": exc.detail,
                                                            "source": {"pointer": f"/{exc.field}"}}]}, []
            dispatcher.schedule(emits)
        requests_seen.append({"method": request.method, "path": path, "body": body, "status": status})
        if status == 204 or data is None:
            return Response(status_code=status if status != 200 else 200)
        return JSONResponse(data, status_code=status)

    async def media(request: Request):
        recording_id, _, extension = request.path_params["name"].rpartition(".")
        if recording_id not in world.recordings:
            return error(404, "10005", "Resource not found", "No such recording.")
        expires = request.query_params.get("expires", "")
        if expires.isdigit() and int(expires) < time.time():
            # What an expired pre-signed link answers: fetch a fresh one through the recordings API.
            return Response("Request has expired", status_code=403, media_type="text/plain")
        # Audio is always WAV: no MP3 encoder is bundled; browsers play it either way.
        return Response(tone_wav(), media_type="audio/wav")

    async def state(request: Request):
        with world.lock:
            return JSONResponse({**world.snapshot(), "webhooks_sent": len(dispatcher.sent), "webhooks_pending": len(dispatcher.pending)})

    async def sent(request: Request):
        return JSONResponse([{"event_type": t, "id": i, "status": s} for t, i, s in dispatcher.sent])

    async def fault_rules(request: Request):
        if request.method == "DELETE":
            faults.clear()
            return Response(status_code=204)
        try:
            rule = faults.add(**(await request.json()))
        except (TypeError, ValueError, re.error) as exc:
            return JSONResponse({"message": f"Bad fault: {exc}"}, status_code=400)
        return JSONResponse(vars(rule), status_code=201)

    async def webhook_faults(request: Request):
        options = await request.json()
        for name in ("duplicate", "reorder"):
            if name in options:
                dispatcher.faults[name] = int(options[name])
        return JSONResponse(dispatcher.faults)

    async def start_call(request: Request):
        options = await request.json() if (await request.body()).strip() else {}
        with world.lock:
            call, emits = world.call_start(from_number=options.get("from", "+15550100000"), to_number=options.get("to", "+15550199999"))
            if options.get("queue"):
                emits += world.enqueue(call["call_control_id"], {"queue_name": options["queue"]})
            dispatcher.schedule(emits)
        return JSONResponse({"data": call}, status_code=201)

    async def hangup(request: Request):
        with world.lock:
            dispatcher.schedule(world.call_hangup(request.path_params["call_control_id"]))
        return Response(status_code=204)

    async def seen(request: Request):
        return JSONResponse(list(requests_seen))

    async def index(request: Request):
        snap = world.snapshot()
        return HTMLResponse(
            "<h1>Telnyx sandbox</h1><p>Simulated Call Control API at <code>/v2</code>; webhooks to "
            f"<code>{webhook_url}</code>.</p><ul>" + "".join(f"<li>{k}: {v}</li>" for k, v in snap.items()) + "</ul>"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app):
        tasks = [asyncio.create_task(dispatcher.run())]
        if traffic_rate > 0:
            tasks.append(asyncio.create_task(traffic.run()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await dispatcher.client.aclose()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/v2/_media/recordings/{name}", media),
            Route("/v2/{path:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/_sandbox/state", state),
            Route("/_sandbox/webhooks/sent", sent),
            Route("/_sandbox/requests", seen),
            Route("/_sandbox/faults", fault_rules, methods=["POST", "DELETE"]),
            Route("/_sandbox/webhooks", webhook_faults, methods=["POST"]),
            Route("/_sandbox/calls", start_call, methods=["POST"]),
            Route("/_sandbox/calls/{call_control_id}/hangup", hangup, methods=["POST"]),
            Route("/_sandbox/dial_outcomes", dial_outcomes_endpoint(world), methods=["POST", "DELETE"]),
        ],
        lifespan=lifespan,
    )
    app.state.world, app.state.dispatcher, app.state.faults, app.state.traffic = world, dispatcher, faults, traffic
    return app


def _dropped() -> StreamingResponse:
    """Start a response and cut it short: the client sees the connection drop mid-answer."""

    async def body():
        yield b"{"
        raise ConnectionAbortedError("injected drop")

    return StreamingResponse(body(), media_type="application/json", headers={"content-length": "1000"})
