"""Live frames are never silently lost (issue 23): every frame is numbered, a page sees any gap.

A slow socket is flooded until the channel layer drops frames at capacity; Redis (through the fault
proxy) stops and comes back. Each time, what reached the socket is read the way static/portal/live.js
reads it (`gaps_seen`): every frame that went missing must fall inside a gap the page notices, which
makes it re-fetch its live regions (tests/browser/test_live_gaps.py shows the page doing so).
"""
import asyncio
import os
import re
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import re_path

from portal import live, live_frames
from portal.consumers import LiveConsumer
from tests.factories import UserFactory
from tests.resilience.proxy import FaultProxy

pytestmark = pytest.mark.django_db(transaction=True)
MARKER = re.compile(r'data-live-frame="([^"]+)" data-source="([^"]+)" data-seq="(\d+)"')


def gaps_seen(frames: list[str]) -> tuple[set[int], list[int]]:
    """(numbers the page knows it missed, numbers received): live.js's rule, per group and source."""
    last, missed, received = {}, set(), []
    for text in frames:
        group, source, seq = MARKER.search(text).groups()
        seq = int(seq)
        received.append(seq)
        previous = last.get((group, source))
        if previous is not None and seq != previous + 1:
            missed.update(range(previous + 1, seq))
        last[(group, source)] = seq
    return missed, received


class SlowSocketConsumer(LiveConsumer):
    """The live consumer writing to a client that takes 20 ms to take each frame."""

    async def send(self, *args, **kwargs):
        await asyncio.sleep(0.02)
        await super().send(*args, **kwargs)


async def drain(communicator, quiet: float = 0.5) -> list[str]:
    """Every frame until none comes for `quiet` seconds (receive_from's timeout would stop the consumer)."""
    frames = []
    while not await communicator.receive_nothing(timeout=quiet):
        frames.append(await communicator.receive_from())
    return frames


def fresh_group() -> str:
    """A group of its own for each test, so its frames are numbered from 1 (a call page's group)."""
    return f"call.{uuid.uuid4().hex[:12]}"


def publish(group: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        live.send_now(group, f'<tr id="row-{i}"></tr>')


@pytest.mark.resilience("Live frames: slow socket, channel capacity")
async def test_flooded_slow_socket_loses_frames_only_where_the_page_sees_a_gap(settings, resilience):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10}}}
    user = await database_sync_to_async(UserFactory)(username="v", role="Viewer")
    router = URLRouter([re_path(r"^ws/live/$", SlowSocketConsumer.as_asgi())])
    group = fresh_group()
    communicator = WebsocketCommunicator(router, f"/ws/live/?subscribe={group}")
    communicator.scope["user"] = user
    assert (await communicator.connect())[0]

    sent = 200
    await sync_to_async(publish)(group, sent - 1)  # each send hops to this loop: the consumer keeps up a little
    await asyncio.sleep(1)
    await sync_to_async(publish)(group, 1, start=sent - 1)  # after the flood: the frame that shows the gap
    frames = await drain(communicator)
    await communicator.disconnect()

    missed, received = gaps_seen(frames)
    lost = set(range(1, sent + 1)) - set(received)
    resilience.tried(sent)
    resilience.lost(len(lost - missed))  # lost and the page cannot know: the defect this guards against
    assert lost, "the flood should overflow the slow socket's channel (capacity 10): nothing was dropped"
    assert lost <= missed
    assert received == sorted(received) and received[-1] == sent


def test_frames_number_per_group_and_process_and_restart_after_a_fork():
    first, again, other = (live_frames.message(g, "<p></p>") for g in ("calls", "calls", "dashboard"))
    assert (again["seq"] - first["seq"], other["source"]) == (1, first["source"])
    assert live_frames.marked(first).startswith(f'<template hx-swap-oob="innerHTML:#live-frames" data-live-frame="calls" '
                                                f'data-source="{first["source"]}" data-seq="{first["seq"]}">')
    live_frames.skip("calls")  # a frame dropped before leaving still takes its number
    assert live_frames.message("calls", "")["seq"] == again["seq"] + 2
    live_frames._source = (os.getpid() + 1, "parent")  # as a forked child sees its parent's state
    assert live_frames.message("calls", "")["seq"] == 1 and live_frames.source() != "parent"


@pytest.mark.resilience("Live frames: Redis stopped or hung, then back")
@pytest.mark.parametrize("fault", ["refuse", "hang"])
async def test_redis_stopped_or_hung_then_back_frames_resume_and_gaps_show(settings, resilience, fault):
    """The socket's channel layer and the publisher both reach Redis through the proxy, as a page's
    daphne and a worker would. While Redis is away, frames are lost; after, they flow again and
    the first one shows the page what it missed."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs REDIS_URL (make resilience, .ci/run's PostgreSQL + Redis pass)")
    from urllib.parse import urlsplit

    target = urlsplit(redis_url)
    proxy = FaultProxy(target.hostname, target.port or 6379)
    proxied = target._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": proxied, "socket_timeout": None}]},
    }}
    live.PUBLISH_TIMEOUT_SECONDS, timeout = 1, live.PUBLISH_TIMEOUT_SECONDS
    try:
        user = await database_sync_to_async(UserFactory)(username="v", role="Viewer")
        group = fresh_group()
        communicator = WebsocketCommunicator(URLRouter([re_path(r"^ws/live/$", LiveConsumer.as_asgi())]),
                                             f"/ws/live/?subscribe={group}")
        communicator.scope["user"] = user
        assert (await communicator.connect())[0]
        await asyncio.sleep(0.3)  # the subscription settles
        sent = 0
        await sync_to_async(publish)(group, 3)
        sent += 3
        await sync_to_async(live._publisher().wait_sent)()
        before = await drain(communicator)
        assert len(before) == 3

        getattr(proxy, fault)()
        await sync_to_async(publish)(group, 3, start=sent)
        sent += 3
        await sync_to_async(live._publisher().wait_sent)(timeout=10)
        proxy.forward()

        # Back: keep publishing until frames reach the socket again (the layer reconnects by itself).
        after, deadline = [], time.monotonic() + 20
        while not after and time.monotonic() < deadline:
            await sync_to_async(publish)(group, 1, start=sent)
            sent += 1
            await sync_to_async(live._publisher().wait_sent)(timeout=5)
            after = await drain(communicator, quiet=0.5)
        await communicator.disconnect()
    finally:
        live.PUBLISH_TIMEOUT_SECONDS = timeout
        proxy.close()
        await get_channel_layer().flush()

    missed, received = gaps_seen(before + after)
    lost = set(range(1, sent + 1)) - set(received) if received else set(range(1, sent + 1))
    resilience.tried(sent)
    resilience.lost(len(lost - missed))
    assert after, f"no frame reached the socket within 20 s after Redis came back ({fault})"
    assert lost <= missed


def test_an_update_that_fails_to_render_leaves_a_gap(listen):
    """A fragment whose render raises is not sent; its number is spent, so the page re-fetches at the next one."""
    group = fresh_group()
    listen(group)
    layer = get_channel_layer()
    sent = []
    real_send = layer.group_send

    async def spy(name, message):
        sent.append(message)
        await real_send(name, message)

    layer.group_send = spy

    def broken():
        raise RuntimeError("template error")

    live.send_now(group, "<p>1</p>")
    live.send_now(group, broken)
    live.send_now(group, "<p>3</p>")
    missed, received = gaps_seen([live_frames.marked(m) for m in sent])
    assert [m["html"] for m in sent] == ["<p>1</p>", "<p>3</p>"]
    assert missed == {received[0] + 1}
