"""The live websocket: joins only the groups its user may view and forwards HTML fragments."""
import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from portal import live_sockets
from portal.catching_up import GROUP as LAG_GROUP
from portal.live import awatch, group_permission, user_group
from portal.live_access import AccessFollowingMixin
from portal.live_frames import marked

MAX_GROUPS = 20


class LiveConsumer(AccessFollowingMixin, AsyncWebsocketConsumer):
    """One socket per open page; `?subscribe=a,b` names the groups the page shows."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        wanted = parse_qs(self.scope.get("query_string", b"").decode()).get("subscribe", [""])[0]
        requested = [g for g in wanted.split(",") if g][:MAX_GROUPS]
        self.groups_joined = await self._allowed(user, requested)
        self.groups_joined.append(user_group(user.pk))
        self.groups_joined.append(LAG_GROUP)  # "catching up" (webhooks/lag.py): for every signed-in page
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await awatch(self.groups_joined)  # publishers render for these groups from now on
        self.presence = asyncio.create_task(self._renew_presence())
        await self.accept()
        self.follow_access(user, self.groups_joined[:-2])  # sign-out or lost rights close it (issue 24)
        self.counted = True
        live_sockets.socket_opened()

    @database_sync_to_async
    def _allowed(self, user, requested):
        allowed = []
        for group in requested:
            permission = group_permission(group)
            if permission and user.has_perm(permission):
                allowed.append(group)
        return allowed

    async def _renew_presence(self):
        """Keep this socket's groups marked as watched while it stays open."""
        while True:
            await asyncio.sleep(settings.LIVE_PRESENCE_SECONDS / 3)
            with contextlib.suppress(Exception):  # a cache hiccup: the next round renews
                await awatch(self.groups_joined)

    async def disconnect(self, code):
        self.stop_following_access()
        presence = getattr(self, "presence", None)
        if presence is not None:
            presence.cancel()
        if getattr(self, "counted", False):
            self.counted = False
            live_sockets.socket_closed()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Pages never write through the socket; anything sent is ignored."""

    async def dispatch(self, message):
        """A live fragment goes straight to its handler. channels (4.2 on) first runs close_old_connections
        in a worker thread before every handler: a thread hop per fragment and socket, the larger part of
        what a frame cost daphne (bench "fanout", issue 25). Forwarding a fragment touches no database;
        every other message (connect, access checks) goes through channels' dispatch as before."""
        if message.get("type") == "live.html":
            await self.live_html(message)
        else:
            await super().dispatch(message)

    async def live_html(self, event):
        await self.send(text_data=marked(event))
