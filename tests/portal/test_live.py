"""The live websocket: authentication, group permissions, forwarding; publishing after commit only."""
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from portal import live
from portal.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user, subscribe: str):
    from channels.auth import AuthMiddlewareStack  # noqa: F401

    communicator = WebsocketCommunicator(application, f"/ws/live/?subscribe={subscribe}", headers=[(b"origin", b"http://127.0.0.1")])
    if user is not None:
        # Attach the user as AuthMiddlewareStack would after login.
        communicator.scope["user"] = user
    return communicator


@pytest.fixture
def url_router():
    from channels.routing import URLRouter

    from portal.routing import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


async def open_socket(router, user, subscribe):
    communicator = WebsocketCommunicator(router, f"/ws/live/?subscribe={subscribe}")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_anonymous_socket_is_refused(url_router):
    from django.contrib.auth.models import AnonymousUser

    communicator, connected, code = await open_socket(url_router, AnonymousUser(), "dashboard")
    assert not connected and code == 4401


async def test_socket_joins_only_groups_its_user_may_view(url_router):
    from tests.factories import UserFactory

    viewer = await database_sync_to_async(UserFactory)(username="v", role="Viewer")
    communicator, connected, _ = await open_socket(url_router, viewer, "dashboard,admin.auth.user,bogus,conference.c1")
    assert connected
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    await layer.group_send("dashboard", {"type": "live.html", "html": "<p id=a>dash</p>"})
    assert await communicator.receive_from() == "<p id=a>dash</p>"
    await layer.group_send("conference.c1", {"type": "live.html", "html": "<p>c1</p>"})
    assert await communicator.receive_from() == "<p>c1</p>"
    await layer.group_send("admin.auth.user", {"type": "live.html", "html": "<p>users</p>"})
    assert await communicator.receive_nothing(timeout=0.2)
    await layer.group_send(f"user.{viewer.pk}", {"type": "live.html", "html": "<p>toast</p>"})
    assert await communicator.receive_from() == "<p>toast</p>"
    await communicator.send_to(text_data="ignored")
    assert await communicator.receive_nothing(timeout=0.1)
    # The groups it joined are marked watched, so publishers render for them; refused ones are not.
    watched = await database_sync_to_async(live.watched)(["dashboard", "conference.c1", f"user.{viewer.pk}", "admin.auth.user"])
    assert watched == {"dashboard", "conference.c1", f"user.{viewer.pk}"}
    await communicator.disconnect()


async def test_user_without_role_joins_nothing_but_own_group(url_router):
    from channels.layers import get_channel_layer

    from tests.factories import UserFactory

    nobody = await database_sync_to_async(UserFactory)(username="n")
    communicator, connected, _ = await open_socket(url_router, nobody, "dashboard")
    assert connected
    await get_channel_layer().group_send("dashboard", {"type": "live.html", "html": "x"})
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


def test_publish_happens_only_after_commit(listen):
    listen("calls")
    with transaction.atomic():
        live.publish_on_commit("calls", "<p>one</p>")
        assert listen.received("calls") == []
    assert listen.received("calls") == ["<p>one</p>"]


def test_nothing_is_published_on_rollback(listen):
    listen("calls")
    with pytest.raises(RuntimeError), transaction.atomic():
        live.publish_on_commit("calls", "<p>lost</p>")
        raise RuntimeError
    assert listen.received("calls") == []


def test_group_names_are_validated():
    with pytest.raises(ValueError):
        live.publish_on_commit("bad group!", "x")
    assert live.group_permission("conference.abc") == "conferencing.view_conference"
    assert live.group_permission("admin.webhooks.webhookevent") == "webhooks.view_webhookevent"
    assert live.group_permission("unknown") is None


@pytest.mark.live_layer
def test_configured_channel_layer_round_trip():
    """The profile's real layer (channels-lite on SQLite, RedisPubSub with REDIS_URL) carries a group message."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("dashboard", channel)
        await asyncio.sleep(0.2)  # pub/sub subscription settles
        await layer.group_send("dashboard", {"type": "live.html", "html": "<p>real</p>"})
        message = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await layer.group_discard("dashboard", channel)
        return message

    assert async_to_sync(round_trip)()["html"] == "<p>real</p>"


def test_coalescing_sends_one_message_per_group_when_the_block_ends(listen, settings):
    settings.LIVE_COALESCE_SECONDS = 3600
    listen("calls")
    listen("events")
    with live.coalescing():
        live.send_now("calls", "<tr id=z></tr>")
        live.flush()  # leading edge: nothing was sent in the last LIVE_COALESCE_SECONDS, so this leaves now
        assert listen.received("calls") == ["<tr id=z></tr>"]
        live.send_now("calls", "<tr id=a></tr>")
        live.send_now("events", "<tr id=e></tr>")
        live.send_now("calls", "<tr id=b></tr>")
        live.send_now("calls", "<tr id=a></tr>")  # the same fragment twice is sent once
        live.flush()  # the last send was less than LIVE_COALESCE_SECONDS ago: held back
        assert listen.received("calls") == []
    assert listen.received("calls") == ["<tr id=a></tr><tr id=b></tr>"]
    assert listen.received("events") == ["<tr id=e></tr>"]


def test_coalescing_flushes_once_the_window_has_passed(listen, settings):
    settings.LIVE_COALESCE_SECONDS = 0
    listen("calls")
    with live.coalescing():
        live.publish_on_commit("calls", "<p>one</p>")  # autocommit: runs at once, into the buffer
        assert listen.received("calls") == []
        live.flush()
        assert listen.received("calls") == ["<p>one</p>"]
        live.send_now("calls", "<p>two</p>")
    assert listen.received("calls") == ["<p>two</p>"]


def test_rendered_once_survives_a_rolled_back_savepoint(listen):
    listen("dashboard")
    builds = []

    def build():
        builds.append(1)
        return [("dashboard", "<p>counters</p>")]

    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            live.publish_rendered_once("dashboard", build)
            raise RuntimeError  # this savepoint's callback is dropped...
        live.publish_rendered_once("dashboard", build)  # ...so this one must register again
        live.publish_rendered_once("dashboard", build)  # and this one folds into it
    assert builds == [1]
    assert listen.received("dashboard") == ["<p>counters</p>"]


@pytest.mark.live_layer
def test_send_now_reaches_a_subscriber_through_the_configured_layer():
    """send_now from sync code (Redis: through the process's one long-lived publishing loop) arrives."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("calls", channel)
        await live.awatch(["calls"])
        await asyncio.sleep(0.2)  # pub/sub subscription settles
        await asyncio.to_thread(live.send_now, "calls", "<p>first</p>")
        await asyncio.to_thread(live.send_now, "calls", "<p>second</p>")
        messages = [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(2)]
        await layer.group_discard("calls", channel)
        return [m["html"] for m in messages]

    assert async_to_sync(round_trip)() == ["<p>first</p>", "<p>second</p>"]


def test_costly_renders_are_shared_by_the_batches_of_one_window(listen, settings):
    settings.LIVE_COALESCE_SECONDS = 0
    settings.LIVE_RENDER_SECONDS = 3600
    live._last_rendered.pop("counters", None)
    listen("dashboard")
    builds = []

    def build():
        builds.append(1)
        return [("dashboard", f"<p>{len(builds)}</p>")]

    with live.coalescing():
        with transaction.atomic():
            live.publish_rendered_once("counters", build)
        live.flush()  # never rendered: rendered now
        assert listen.received("dashboard") == ["<p>1</p>"]
        for _ in range(3):  # three more batches inside the window
            with transaction.atomic():
                live.publish_rendered_once("counters", build)
            live.flush()
        assert builds == [1]
    # The block's end renders the latest state once, whatever the window says.
    assert builds == [1, 1]
    assert listen.received("dashboard") == ["<p>2</p>"]


def test_nothing_is_rendered_or_sent_for_a_group_no_page_watches(listen):
    """Presence: lazy fragments and declared builds of unwatched groups never run (issue 13)."""
    listen("calls")  # watched; "call.v3:x" is not
    rendered = []

    def fragment(name):
        def render():
            rendered.append(name)
            return f"<p>{name}</p>"
        return render

    def build():
        rendered.append("build")
        return [("call.v3-x", "<p>page</p>")]

    with transaction.atomic():
        live.publish_on_commit("calls", fragment("list"))
        live.publish_on_commit("call.v3-x", fragment("timeline"))
        live.publish_rendered_once("call:1", build, groups=["call.v3-x"])
    assert rendered == ["list"]
    assert listen.received("calls") == ["<p>list</p>"]

    live.watch(["call.v3-x"])
    listen("call.v3-x")
    with live.coalescing(), transaction.atomic():  # as a drain does
        live.publish_rendered_once("call:1", build, groups=["call.v3-x"])
        live.publish_on_commit("call.v3-x", fragment("timeline"))
    assert sorted(rendered) == ["build", "list", "timeline"]
    assert listen.received("call.v3-x") == ["<p>timeline</p>", "<p>page</p>"]


def test_a_flush_looks_presence_up_once_for_fragments_and_builds(listen, monkeypatch):
    """One presence round trip per flush (a drain flushes after every batch), not one per kind of message."""
    listen("events")
    listen("dashboard")
    lookups = []
    real = live.watched
    monkeypatch.setattr(live, "watched", lambda groups: lookups.append(set(groups)) or real(groups))
    live._last_rendered.pop("counters-once", None)
    with live.coalescing(), transaction.atomic():  # as a drain does
        live.publish_on_commit("events", lambda: "<tr>row</tr>")
        live.publish_on_commit("call.nobody", lambda: "<p>unseen</p>")
        live.publish_rendered_once("counters-once", lambda: [("dashboard", "<p>n</p>")], groups=["dashboard"])
    assert lookups == [{"events", "call.nobody", "dashboard"}]
    assert listen.received("events") == ["<tr>row</tr>"]
    assert listen.received("dashboard") == ["<p>n</p>"]


def test_presence_expires_unless_renewed(settings):
    from django.core.cache import cache

    live.watch(["queues"])
    assert live.watched(["queues", "calls"]) == {"queues"}
    cache.delete(live.PRESENCE_PREFIX + "queues")  # what expiry does after LIVE_PRESENCE_SECONDS
    assert live.watched(["queues"]) == set()


def test_the_publisher_returns_at_once_and_publishes_in_order():
    """A drain hands its messages over without waiting for the layer; they leave in the order handed over."""
    import asyncio
    import time as clock

    published = []

    class SlowLayer:
        async def group_send(self, group, message):
            await asyncio.sleep(0.05 if message["html"] == "first" else 0)  # the first is slow to leave
            published.append((group, message["html"]))

    publisher = live._Publisher()
    started = clock.monotonic()
    publisher.send(SlowLayer(), {"calls": ["first"]})
    publisher.send(SlowLayer(), {"calls": ["sec", "ond"], "events": ["row"]})
    assert clock.monotonic() - started < 0.05  # not waiting for the 50 ms send
    assert publisher.wait_sent(timeout=5)  # what a process exiting does first (atexit)
    assert published == [("calls", "first"), ("calls", "second"), ("events", "row")]


def test_the_publisher_drops_updates_beyond_its_backlog(monkeypatch, caplog):
    """A stuck layer cannot make a process hold updates without bound."""
    import asyncio
    import atexit
    import threading
    import time as clock

    entered = threading.Event()

    class StuckLayer:
        async def group_send(self, group, message):
            entered.set()
            await asyncio.sleep(3600)

    def until(condition) -> None:
        deadline = clock.monotonic() + 5
        while not condition() and clock.monotonic() < deadline:
            clock.sleep(0.01)

    publisher = live._Publisher()
    monkeypatch.setattr(publisher, "MAX_WAITING", 2)
    publisher.send(StuckLayer(), {"calls": ["m0"]})  # taken, and stuck in group_send
    until(entered.is_set)  # (an empty queue alone could also mean "not put yet")
    publisher.send(StuckLayer(), {"calls": ["m1"]})
    publisher.send(StuckLayer(), {"calls": ["m2"]})
    until(lambda: publisher.waiting.qsize() == 2)
    publisher.send(StuckLayer(), {"calls": ["m3"]})

    assert "live publisher backlog full: dropped an update to calls" in caplog.text
    assert publisher.waiting.qsize() == 2
    atexit.unregister(publisher.close)  # it will never be sent: do not hold the test run's exit
    publisher.publishing.cancel()


def test_a_publisher_inherited_through_a_fork_does_not_hold_the_exit(monkeypatch):
    import atexit
    import os

    publisher = live._Publisher()
    atexit.unregister(publisher.close)
    waited = []
    monkeypatch.setattr(publisher, "wait_sent", lambda *a, **k: waited.append(1))
    monkeypatch.setattr(publisher, "pid", os.getpid() + 1)  # as in a forked child: the thread did not come along
    publisher.close()
    assert waited == [] and not publisher.publishing.done()
    monkeypatch.setattr(publisher, "pid", os.getpid())
    publisher.close()  # its own process: it waits, then stops publishing
    assert waited == [1]
    assert publisher.publishing.cancelled() or publisher.publishing.done()


def test_a_snapshot_keeps_the_instance_as_it_was_and_shares_nothing_it_can_change():
    from webhooks.models import WebhookEvent

    event = WebhookEvent(event_id="snap-1", event_type="call.answered", status=WebhookEvent.Status.PENDING, payload={"a": 1})
    event._state.fields_cache["x"] = "cached"
    copied = live.snapshot(event)
    event.status, event._state.adding = WebhookEvent.Status.PROCESSED, False
    event._state.fields_cache["x"] = "changed"
    assert type(copied) is WebhookEvent
    assert (copied.event_id, copied.status, copied.payload) == ("snap-1", WebhookEvent.Status.PENDING, {"a": 1})
    assert copied._state.adding is True and copied._state.fields_cache == {"x": "cached"}


async def test_a_live_fragment_is_forwarded_without_a_thread_hop_other_messages_keep_channels_dispatch(url_router, monkeypatch):
    """channels runs close_old_connections in a worker thread before every handler; a fragment needs no database,
    so the socket forwards it directly (issue 25: half of what a frame cost daphne). Other messages still go
    through channels' dispatch, database housekeeping included."""
    import channels.consumer
    from channels.layers import get_channel_layer

    from tests.factories import UserFactory

    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    viewer = await database_sync_to_async(UserFactory)(username="hops", role="Viewer")
    communicator, connected, _ = await open_socket(url_router, viewer, "dashboard")
    assert connected
    hops.clear()  # connecting went through channels' dispatch (its handler reads the database)
    layer = get_channel_layer()
    for n in range(3):
        await layer.group_send("dashboard", {"type": "live.html", "html": f"<p>{n}</p>"})
        assert await communicator.receive_from() == f"<p>{n}</p>"
    assert hops == []
    await layer.group_send(f"user.{viewer.pk}", {"type": "access.changed"})
    await communicator.receive_nothing(timeout=0.2)  # still allowed: the socket stays open
    assert hops == [1]
    await communicator.disconnect()
