"""Publishing live updates: services call these after a write; messages leave after commit."""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models.base import ModelState
from django.template.loader import render_to_string

from portal import live_frames, voice_content
from portal.redis_client import kept_redis_client

log = logging.getLogger(__name__)
GROUP_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,99}$")
PUBLISH_TIMEOUT_SECONDS = 5
_local = threading.local()
# Presence: a cache key per group some open page watches. Publishing skips the others' renders (most
# events touch a call page nobody has open; rendering those was most of applying an event, issue 13).
PRESENCE_PREFIX = "live:watched:"

# Which permission lets a socket join a group, by the group's first dotted part.
GROUP_PERMISSIONS = {
    "dashboard": "portal.view_dashboard",
    "commands": "portal.view_command",
    "events": "webhooks.view_webhookevent",
    "conferences": "conferencing.view_conference",
    "conference": "conferencing.view_conference",
    "queues": "queues.view_queue",
    "queue": "queues.view_queue",
    "calls": "calls.view_call",
    "call": "calls.view_call",
    "recordings": "recordings.view_recording",
    "recording": "recordings.view_recording",
    "alerts": "alerts.view_alert",  # every page's alert banner (issue 26)
    "admin": None,  # admin.<app_label>.<model>: checked against that model's view permission
}


def group_permission(group: str) -> str | None:
    """The permission a user needs to join `group`, or None if nobody may join it."""
    if not GROUP_NAME.match(group):
        return None
    head, _, rest = group.partition(".")
    if group.endswith("." + voice_content.HEARD) and head != "admin":
        return voice_content.LISTEN  # what was said or pressed, unmasked (issue 24)
    if head == "admin":
        app_label, _, model = rest.partition(".")
        return f"{app_label}.view_{model}" if app_label and model else None
    return GROUP_PERMISSIONS.get(head)


def user_group(user_id: int) -> str:
    """The private group of one user (command outcomes, toasts)."""
    return f"user.{user_id}"


# A fragment is HTML, or a callable rendering it: callables run only if the group has a watcher.
Fragment = str | Callable[[], str]


def watch(groups: list[str]) -> None:
    """Mark groups as watched by an open page for PRESENCE_SECONDS (sockets renew while they stay open)."""
    if groups:
        cache.set_many({PRESENCE_PREFIX + group: 1 for group in groups}, timeout=settings.LIVE_PRESENCE_SECONDS)


async def awatch(groups: list[str]) -> None:
    """`watch` for the websocket consumer."""
    if groups:
        await cache.aset_many({PRESENCE_PREFIX + group: 1 for group in groups}, timeout=settings.LIVE_PRESENCE_SECONDS)


def watched(groups) -> set[str]:
    """Which of `groups` some open page watches (all of them if presence cannot be read)."""
    groups = list(set(groups))
    if not groups:
        return set()
    try:
        client = kept_redis_client()
        if client is not None:  # one MGET on the kept client: cache.get_many builds a client per call
            found = client.mget([cache.make_and_validate_key(PRESENCE_PREFIX + group) for group in groups])
            return {group for group, value in zip(groups, found, strict=True) if value is not None}
        found = cache.get_many([PRESENCE_PREFIX + group for group in groups])
    except Exception:  # noqa: BLE001 - without presence, publish everything (the old behaviour)
        log.warning("live presence unreadable: publishing to every group", exc_info=True)
        return set(groups)
    return {key.removeprefix(PRESENCE_PREFIX) for key in found}


def send_now(group: str, html: Fragment) -> None:
    """Send one HTML fragment to a group now (or into the open coalescing buffer); never raises."""
    if not GROUP_NAME.match(group):
        raise ValueError(f"invalid group name {group!r}")
    buffer = getattr(_local, "buffer", None)
    if buffer is not None:
        buffer.setdefault(group, {})[html] = None
        return
    _send({group: [html]})


def _render(messages: dict[str, list[Fragment]], asked: set[str] = frozenset(),
            watching: set[str] = frozenset()) -> dict[str, list[str]]:
    """Only the watched groups' fragments, rendered (a render that fails drops that fragment alone).

    `asked`: groups whose presence the caller looked up already, `watching` those of them found
    watched (one lookup per flush, not three); only the others are looked up here.
    """
    out: dict[str, list[str]] = {}
    unknown = messages.keys() - asked
    for group in (messages.keys() & watching) | (watched(unknown) if unknown else set()):
        for fragment in messages[group]:
            try:
                html = fragment() if callable(fragment) else fragment
                out.setdefault(group, []).append(html)
            except Exception:  # noqa: BLE001 - one broken fragment must not hold back the others
                log.warning("live render for %s failed", group, exc_info=True)
                live_frames.skip(group)  # the update is missing: the page sees a gap and re-fetches
    return out


def _send(messages: dict[str, list[Fragment]], asked: set[str] = frozenset(),
          watching: set[str] = frozenset()) -> None:
    """One message per watched group (fragments joined: htmx swaps every out-of-band element of a message)."""
    if not messages:
        return
    messages = _render(messages, asked, watching)
    if not messages:
        return
    try:
        layer = get_channel_layer()
        if type(layer).__module__.startswith("channels_redis"):
            # async_to_sync runs each call in a fresh event loop and channels_redis keeps one
            # connection per loop: a new Redis connection per publish. Publish through one
            # long-lived loop instead (issue 13).
            _publisher().send(layer, messages)
            return
        for group, fragments in messages.items():
            async_to_sync(layer.group_send)(group, live_frames.message(group, "".join(fragments)))
    except Exception:  # noqa: BLE001 - live updates are best effort; state is already committed
        log.warning("live update to %s failed", ", ".join(messages), exc_info=True)


class _Publisher:
    """A daemon thread running one event loop, so a process keeps one channel-layer connection.

    `send` hands the messages over and returns: the caller (a drain between two batches) does not
    wait for Redis. One coroutine publishes them in the order they were handed over, so a newer
    fragment never overtakes an older one.
    """

    MAX_WAITING = 10_000  # messages; beyond this (the layer is down or stuck) new ones are dropped

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        self.waiting: asyncio.Queue = asyncio.Queue()
        threading.Thread(target=self.loop.run_forever, name="live-publisher", daemon=True).start()
        self.publishing = asyncio.run_coroutine_threadsafe(self._publish_forever(), self.loop)
        atexit.register(self.close)

    def close(self) -> None:
        """At exit: send what is waiting (bounded), then stop publishing (no pending task left behind)."""
        if self.pid != os.getpid():
            return  # inherited through a fork: its thread did not come along, nothing of ours is waiting
        self.wait_sent()
        self.publishing.cancel()
        concurrent.futures.wait([self.publishing], timeout=1)

    def wait_sent(self, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> bool:
        """Block until every message handed over has been published (or `timeout`); True if all were."""
        try:
            asyncio.run_coroutine_threadsafe(self.waiting.join(), self.loop).result(timeout=timeout)
            return True
        except Exception:  # noqa: BLE001 - best effort at exit
            return False

    def send(self, layer, messages: dict[str, list[str]]) -> None:
        # Numbered here, in the order handed over, which is the order they are published in.
        if self.waiting.qsize() >= self.MAX_WAITING:
            log.warning("live publisher backlog full: dropped an update to %s", ", ".join(messages))
            for group in messages:
                live_frames.skip(group)  # open pages see the gap at the next frame and re-fetch
            return
        framed = {group: live_frames.message(group, "".join(fragments)) for group, fragments in messages.items()}
        self.loop.call_soon_threadsafe(self.waiting.put_nowait, (layer, framed))

    async def _publish_forever(self) -> None:
        while True:
            layer, messages = await self.waiting.get()
            for group, message in messages.items():
                try:
                    await asyncio.wait_for(layer.group_send(group, message), PUBLISH_TIMEOUT_SECONDS)
                except Exception:  # noqa: BLE001 - live updates are best effort; state is already committed
                    log.warning("live update to %s failed", group, exc_info=True)
            self.waiting.task_done()


_publisher_lock = threading.Lock()
_publisher_instance: _Publisher | None = None


def _publisher() -> _Publisher:
    global _publisher_instance
    with _publisher_lock:
        if _publisher_instance is None or _publisher_instance.pid != os.getpid():  # a fork has no thread
            _publisher_instance = _Publisher()
        return _publisher_instance


@contextmanager
def coalescing():
    """Inside this block fragments sent to a group are buffered and leave as one message per group.

    The webhook processor wraps each batch in it: a batch of events yields one message per group
    (duplicates dropped) instead of several per event. `flush()` sends early; leaving the block sends
    the rest, so callers (and tests) see everything published when the block ends.
    """
    if getattr(_local, "buffer", None) is not None:  # nested: the outer block sends
        yield
        return
    _local.buffer, _local.builds = {}, {}
    # Leading edge: what the first batch publishes leaves at its first flush; later sends wait out the window.
    _local.since = time.monotonic() - settings.LIVE_COALESCE_SECONDS
    try:
        yield
    finally:
        try:
            flush(force=True)
        finally:
            _local.buffer = _local.builds = None


def flush(*, force: bool = False) -> None:
    """Send what the open coalescing block holds if older than LIVE_COALESCE_SECONDS (or `force`).

    Fragments already rendered leave first; then rendered-once builds (lists, counters: the costly
    renders) run if their key was last rendered LIVE_RENDER_SECONDS ago or more, and leave at once;
    the others wait for a later flush (the block's end forces all).
    """
    now = time.monotonic()
    buffered = getattr(_local, "buffer", None)
    send_buffered = bool(buffered) and (force or now - _local.since >= settings.LIVE_COALESCE_SECONDS)
    builds = getattr(_local, "builds", None) or {}
    if len(_last_rendered) > 2000:  # only the last window matters: keep the map small
        for key, when in list(_last_rendered.items()):
            if now - when >= settings.LIVE_RENDER_SECONDS:
                del _last_rendered[key]
    due = [key for key in builds if force or now - _last_rendered.get(key, float("-inf")) >= settings.LIVE_RENDER_SECONDS]
    if not send_buffered and not due:
        return
    # One presence lookup for everything this flush may send (a round trip each was a third of a
    # trickle batch's publishing cost).
    asked = (set(buffered) if send_buffered else set()) | {group for key in due for group in (builds[key][1] or ())}
    looked_up = watched(asked)
    if send_buffered:
        _local.buffer, _local.since = {}, now
        _send({group: list(fragments) for group, fragments in buffered.items()}, asked, looked_up)
    rendered: dict[str, list[str]] = {}
    for key in due:
        build, groups = builds.pop(key)
        if groups is not None and not looked_up.intersection(groups):
            continue  # nobody watches what it renders: not rendered, not counted as rendered
        _last_rendered[key] = now
        _run_build(key, build, rendered, groups)
    # Groups only a build without declared groups names are looked up now.
    _send({group: list(fragments) for group, fragments in rendered.items()}, asked, looked_up)


def _run_build(key: str, build, into: dict, groups=None) -> None:
    try:
        for group, html in build():
            if not GROUP_NAME.match(group):
                raise ValueError(f"invalid group name {group!r}")
            into.setdefault(group, {})[html] = None
    except Exception:  # noqa: BLE001 - one broken fragment must not hold back the others
        log.warning("live render %s failed", key, exc_info=True)
        for group in groups or ():
            live_frames.skip(group)  # its pages see a gap at the next frame and re-fetch


_last_rendered: dict[str, float] = {}  # key -> when this process last rendered it (coalescing only)


def publish_on_commit(group: str, html: Fragment) -> None:
    """Queue an HTML fragment (with hx-swap-oob targets) for `group` once the transaction commits.

    Pass a callable to render only if some page watches `group` when it leaves.
    """
    if not GROUP_NAME.match(group):
        raise ValueError(f"invalid group name {group!r}")
    transaction.on_commit(lambda: send_now(group, html))


def publish_rendered_once(key: str, build: Callable[[], list[tuple[str, str]]], *, groups: list[str] | None = None) -> None:
    """Render and publish once per transaction, however many writes asked for it.

    `build` runs after commit and returns (group, html) pairs; repeated calls with the same key inside
    one transaction are folded into one (Django drops the callback on rollback, so nothing is lost).
    `groups` names the groups `build` publishes to: if no open page watches any of them, it never runs.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        pending = _pending_keys(connection)
        if key in pending:
            return
        pending.add(key)

    def send_built() -> None:
        # Sent: a later write may publish again. (After a real commit Django drops the list anyway; a
        # test's captureOnCommitCallbacks runs callbacks but leaves them listed.)
        send_built.live_key = None
        cached = getattr(transaction.get_connection(), "_live_pending_keys", None)
        if cached is not None:
            cached[1].discard(key)
        builds = getattr(_local, "builds", None)
        if builds is not None:
            # Inside a coalescing block (the webhook processor): render at most once per
            # LIVE_RENDER_SECONDS per key, the latest state, however many batches asked (issue 13).
            builds.pop(key, None)
            builds[key] = (build, groups)
            return
        if groups is not None and not watched(groups):
            return
        for group, html in build():
            send_now(group, html)

    send_built.live_key = key
    transaction.on_commit(send_built)


def _pending_keys(connection) -> set[str]:
    """Keys of rendered-once callbacks waiting for this transaction's commit.

    Cached against the identity of Django's `run_on_commit` list: appends keep the list, while commit
    and (savepoint) rollback replace it, so a stale cache is noticed and rebuilt. A batch of hundreds
    of events registers thousands of callbacks; scanning the list on every call was quadratic.
    """
    callbacks = connection.run_on_commit
    cached = getattr(connection, "_live_pending_keys", None)
    if cached is None or cached[0] is not callbacks:
        cached = (callbacks, {getattr(callback, "live_key", None) for _, callback, _ in callbacks})
        connection._live_pending_keys = cached
    return cached[1]


def snapshot(instance: models.Model) -> models.Model:
    """A shallow copy of a model instance as it is now, to render after commit whatever happens to it meanwhile:
    what copy.copy gives, without pickling's __reduce__ (6 us against under 1; a drain took two per event)."""
    state = object.__new__(ModelState)
    state.__dict__.update(instance._state.__dict__)
    state.fields_cache = dict(instance._state.fields_cache)
    clone = object.__new__(type(instance))
    clone.__dict__.update(instance.__dict__)
    clone._state = state
    return clone


def oob(template: str, context: dict) -> str:
    """Render a partial for an out-of-band swap (the partial carries its own id)."""
    return render_to_string(template, {**context, "oob": True})


def publish_admin_changed(app_label: str, model: str) -> None:
    """Tell open admin changelists of a model that rows changed."""
    group = f"admin.{app_label}.{model}"
    publish_rendered_once(group, lambda: [(group, render_to_string("admin/_live_changed.html", {"model": model}))], groups=[group])


def publish_toast(user_id: int | None, html: Fragment) -> None:
    """Send a toast to one user's open pages after commit."""
    if user_id:
        publish_on_commit(user_group(user_id), html)


def publish_dashboard() -> None:
    """Re-render the dashboard's counters and overview for open dashboards, once per transaction."""

    def build():
        # Every app publishes through this module and the dashboard reads every app: imported when rendered.
        from portal.selectors import dashboard_counters, dashboard_overview

        context = {"counters": dashboard_counters(), "overview": dashboard_overview(), "oob": True}
        html = render_to_string("portal/_counters.html", context) + render_to_string("portal/_overview.html", context)
        return [("dashboard", html)]

    publish_rendered_once("dashboard", build, groups=["dashboard"])
