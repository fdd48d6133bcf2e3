"""The sandbox waits for the portal to answer before its first webhook (make run starts both at once)."""
import asyncio

import httpx
from nacl.signing import SigningKey

from sandbox.traffic import Traffic
from sandbox.webhooks import Dispatcher
from sandbox.wire import Emit
from sandbox.world import World

URL = "http://portal.test/webhooks/telnyx/"


def test_first_webhook_waits_until_the_portal_answers():
    seen = []

    async def scenario():
        up = asyncio.Event()

        def handler(request):
            seen.append((request.method, up.is_set()))
            if not up.is_set():
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(405 if request.method == "GET" else 200)

        dispatcher = Dispatcher(World(seed=1), SigningKey.generate(), URL, pace=0.0)
        dispatcher.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        traffic = Traffic(dispatcher.world, dispatcher, rate_per_minute=600, seed=1)
        dispatcher.schedule([Emit("call.initiated", {"call_control_id": "v3:x"})])
        tasks = [asyncio.create_task(dispatcher.run()), asyncio.create_task(traffic.run())]
        await asyncio.sleep(1.2)  # the portal is "starting": polled, nothing posted, no traffic
        before = (list(dispatcher.sent), dispatcher.ready.is_set(), len(dispatcher.world.calls))
        up.set()
        async with asyncio.timeout(5):
            await dispatcher.ready.wait()
            while not dispatcher.sent:
                await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await dispatcher.client.aclose()
        return before, list(dispatcher.sent)

    (sent_before, ready_before, calls_before), sent_after = asyncio.run(scenario())
    assert sent_before == [] and ready_before is False
    assert {method for method, _ in seen if _ is False} == {"GET"}  # only polls while it was down
    assert sum(1 for method, was_up in seen if method == "GET" and not was_up) >= 2
    assert ("call.initiated", sent_after[0][1], 200) == sent_after[0]
    assert calls_before == 0  # simulated traffic waited too (at 600 calls a minute it would have started some)


def test_no_webhook_url_means_no_wait():
    async def scenario():
        dispatcher = Dispatcher(World(seed=1), SigningKey.generate(), None, pace=0.0)
        async with asyncio.timeout(1):
            await dispatcher.wait_for_portal()
        await dispatcher.client.aclose()
        return dispatcher.ready.is_set()

    assert asyncio.run(scenario()) is True
