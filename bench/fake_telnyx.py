"""A fake Telnyx for the benchmarks: commands answered after a fixed delay, large lists served in pages.

`python -m bench.fake_telnyx --port 8612 --delay 0.05 --conferences 10000 --queues 2000 --recordings 100000`
Items have the shapes of the sandbox (and of Telnyx's reference); pages are built on demand and cached.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import json
import time
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def stamp(seconds: int) -> str:
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def conference(i: int) -> dict:
    return {
        "id": f"fconf-{i}", "record_type": "conference", "name": f"bench-{i}",
        "status": "in_progress" if i % 10 == 0 else "completed", "region": "US", "connection_id": "bench",
        "created_at": stamp(i), "updated_at": stamp(i + 60), "expires_at": stamp(i + 14400),
        "end_reason": None if i % 10 == 0 else "all_left",
    }


def participant(conference_id: str, j: int) -> dict:
    return {
        "id": f"v3:{conference_id}-{j}", "record_type": "participant", "call_control_id": f"v3:{conference_id}-{j}",
        "call_leg_id": f"leg-{conference_id}-{j}", "conference": {"id": conference_id, "name": conference_id},
        "created_at": stamp(j), "updated_at": stamp(j), "status": "joined", "muted": j % 3 == 0, "on_hold": False,
        "supervisor_role": "none", "whisper_call_control_ids": [], "end_conference_on_exit": False,
        "soft_end_conference_on_exit": False,
    }


def queue(i: int) -> dict:
    return {"id": f"fqueue-{i}", "record_type": "queue", "name": f"fqueue-{i}", "max_size": 100, "current_size": 0,
            "average_wait_time_secs": 30, "created_at": stamp(i), "updated_at": stamp(i)}


def recording(i: int) -> dict:
    return {
        "id": f"frec-{i}", "record_type": "recording", "source": "conference" if i % 2 else "call",
        "status": "completed", "conference_id": f"fconf-{i % 1000}" if i % 2 else None,
        "call_control_id": f"v3:fcall-{i}", "call_leg_id": f"leg-{i}", "call_session_id": f"session-{i}",
        "channels": "single", "created_at": stamp(10**6 - i), "updated_at": stamp(10**6 - i),
        "recording_started_at": stamp(10**6 - i - 60), "recording_ended_at": stamp(10**6 - i),
        "duration_millis": 60000, "download_urls": {"mp3": f"http://127.0.0.1:1/fake/{i}.mp3"},
    }


# A few bytes with an MP3 frame header: enough for a capture to store and for nobody to play.
MP3 = b"\xff\xfb\x90\x64" + bytes(413)


def create_app(*, delay: float, conferences: int, participants: int, queues: int, recordings: int,
               port: int = 8612) -> Starlette:
    arrivals: list[tuple[float, str, str | None]] = []
    counts = {"conferences": conferences, "queues": queues, "recordings": recordings, "recording_transcriptions": 0}
    makers = {"conferences": conference, "queues": queue, "recordings": recording}

    def paging(request: Request) -> tuple[int, int]:
        q = request.query_params
        number = int(q.get("page[number]") or q.get("page_number") or 1)
        size = min(250, int(q.get("page[size]") or q.get("page_size") or 20))
        return max(1, number), max(1, size)

    @functools.lru_cache(maxsize=64)
    def list_page(kind: str, number: int, size: int) -> bytes:
        total = counts[kind]
        first = (number - 1) * size
        items = [makers[kind](i) for i in range(first, min(total, first + size))] if kind in makers else []
        return json.dumps({"data": items, "meta": {"page_number": number, "page_size": size,
                                                   "total_pages": max(1, -(-total // size)), "total_results": total}}).encode()

    async def listing(request: Request) -> Response:
        number, size = paging(request)
        if any(k.startswith("filter[") for k in request.query_params):
            # Searches (a recording by call, recent items) match nothing here: a full list is only
            # what the sync benchmark asks for, unfiltered.
            return JSONResponse({"data": [], "meta": {"page_number": 1, "page_size": size, "total_pages": 1,
                                                      "total_results": 0}})
        return Response(list_page(request.path_params["kind"], number, size), media_type="application/json")

    async def recording_retrieve(request: Request) -> Response:
        rid = request.path_params["id"]
        item = recording(0) | {"id": rid, "download_urls": {"mp3": f"http://127.0.0.1:{port}/media/{rid}.mp3"}}
        return JSONResponse({"data": item})

    async def media(request: Request) -> Response:
        return Response(MP3, media_type="audio/mpeg")

    async def conference_participants(request: Request) -> Response:
        number, size = paging(request)
        cid = request.path_params["id"]
        items = [participant(cid, j) for j in range(participants)][(number - 1) * size: number * size]
        return JSONResponse({"data": items, "meta": {"page_number": number, "page_size": size, "total_pages": 1,
                                                      "total_results": participants}})

    async def conference_retrieve(request: Request) -> Response:
        i = int(request.path_params["id"].rsplit("-", 1)[-1]) if request.path_params["id"].startswith("fconf-") else 0
        return JSONResponse({"data": conference(i)})

    async def queue_calls(request: Request) -> Response:
        number, size = paging(request)
        return JSONResponse({"data": [], "meta": {"page_number": number, "page_size": size, "total_pages": 1, "total_results": 0}})

    async def action(request: Request) -> Response:
        arrived = time.time()
        body = await request.body()
        try:
            command_id = json.loads(body or b"{}").get("command_id")
        except ValueError:
            command_id = None
        arrivals.append((arrived, request.url.path, command_id))
        await asyncio.sleep(delay)
        return JSONResponse({"data": {"result": "ok"}})

    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            arrivals.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse([list(a) for a in arrivals])

    return Starlette(routes=[
        Route("/_bench/requests", requests_log, methods=["GET", "DELETE"]),
        Route("/v2/conferences/{id}/participants", conference_participants),
        Route("/v2/conferences/{id}", conference_retrieve),
        Route("/v2/queues/{name}/calls", queue_calls),
        Route("/v2/recordings/{id}", recording_retrieve),
        Route("/media/{name}", media),
        Route("/v2/{kind}", listing),
        Route("/v2/{path:path}/actions/{action}", action, methods=["POST"]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8612)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--conferences", type=int, default=0)
    parser.add_argument("--participants", type=int, default=2)
    parser.add_argument("--queues", type=int, default=0)
    parser.add_argument("--recordings", type=int, default=0)
    args = parser.parse_args()
    import uvicorn

    app = create_app(delay=args.delay, conferences=args.conferences, participants=args.participants,
                     queues=args.queues, recordings=args.recordings, port=args.port)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
