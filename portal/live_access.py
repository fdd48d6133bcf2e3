"""Open live sockets follow access (issue 24): sign-out closes them, a change of rights re-checks them.

Every socket sits in its user's group `user.<id>`. Sign-out, a change of the user's groups, own
permissions, flags or password, a role's permissions changing, or the user's deletion sends
`access.changed` there (after commit); each socket then re-reads its session and the user's rights
from the database, and closes if it may no longer see a group it joined. Sockets also re-check every
LIVE_ACCESS_RECHECK_SECONDS, which covers what no signal announces (a session expiring).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib import import_module
from types import SimpleNamespace

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from portal.live import group_permission, user_group

log = logging.getLogger(__name__)
CLOSE_SIGNED_OUT = 4401  # the page's session ended: reconnecting is refused until it signs in again
CLOSE_ACCESS_CHANGED = 4403  # rights changed: the page reconnects and joins only what it may still see


# --- the sending side (any process that changes access) -------------------------------------------------

def notify_access_changed(user_ids, *, ended_session: str | None = None) -> None:
    """After commit, tell every open socket of these users to re-check (or close, for `ended_session`)."""
    user_ids = [pk for pk in user_ids if pk]
    if not user_ids:
        return
    message = {"type": "access.changed", "ended_session": ended_session}

    def send():
        layer = get_channel_layer()
        for pk in user_ids:
            try:
                async_to_sync(layer.group_send)(user_group(pk), message)
            except Exception:  # noqa: BLE001 - the periodic re-check still closes what must close
                log.warning("could not tell user %s's sockets that access changed", pk, exc_info=True)

    transaction.on_commit(send)


def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        notify_access_changed([user.pk], ended_session=getattr(request.session, "session_key", None))


def _user_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if not (created or raw or (update_fields is not None and set(update_fields) <= {"last_login"})):
        notify_access_changed([instance.pk])


def _user_deleted(sender, instance, **kwargs):
    notify_access_changed([instance.pk])


def _user_relations_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        notify_access_changed(list(pk_set or []) if reverse else [instance.pk])


def _role_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    groups = Group.objects.filter(pk__in=pk_set or []) if reverse else [instance]
    User = auth.get_user_model()
    notify_access_changed(list(User.objects.filter(groups__in=groups).values_list("pk", flat=True).distinct()))


def connect() -> None:
    User = auth.get_user_model()
    user_logged_out.connect(_signed_out, dispatch_uid="live_access.signed_out")
    post_save.connect(_user_saved, sender=User, dispatch_uid="live_access.user_saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="live_access.user_deleted")
    m2m_changed.connect(_user_relations_changed, sender=User.groups.through, dispatch_uid="live_access.user_groups")
    m2m_changed.connect(_user_relations_changed, sender=User.user_permissions.through, dispatch_uid="live_access.user_perms")
    m2m_changed.connect(_role_permissions_changed, sender=Group.permissions.through, dispatch_uid="live_access.role_perms")


# --- the receiving side (the consumer) ---------------------------------------------------------------

def current_user(session_key: str | None):
    """The user that session belongs to now, read afresh (AnonymousUser once signed out or deactivated)."""
    if not session_key:
        return auth.models.AnonymousUser()
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # auth.get_user needs only `.session`: it checks the backend, the password hash and is_active.
    return auth.get_user(SimpleNamespace(session=store))


def may_still_see(user, groups: list[str]) -> bool:
    """Whether `user` (fresh from the database) may still view every one of `groups`."""
    return all((permission := group_permission(group)) and user.has_perm(permission) for group in groups)


class AccessFollowingMixin:
    """For the live consumer: close when the session ends or a joined group is no longer allowed."""

    def follow_access(self, user, page_groups: list[str]) -> None:
        """Call once the socket has joined its groups (`page_groups`: those besides `user.<id>`)."""
        self.access_user_id = user.pk
        self.access_groups = list(page_groups)
        session = self.scope.get("session")
        self.access_session_key = getattr(session, "session_key", None) if session is not None else None
        self.access_watch = asyncio.create_task(self._recheck_periodically())

    def stop_following_access(self) -> None:
        watch = getattr(self, "access_watch", None)
        if watch is not None:
            watch.cancel()

    async def access_changed(self, event):
        """`access.changed` from `user.<id>`: sign-out of this session closes; anything else re-checks."""
        ended = event.get("ended_session")
        if ended and ended == getattr(self, "access_session_key", None):
            await self._drop_and_close(CLOSE_SIGNED_OUT)
            return
        await self.recheck_access()

    async def recheck_access(self) -> None:
        if not hasattr(self, "access_user_id"):
            return  # not accepted (yet)
        user = await database_sync_to_async(current_user)(self.access_session_key)
        if not user.is_authenticated or user.pk != self.access_user_id:
            await self._drop_and_close(CLOSE_SIGNED_OUT)
        elif not await database_sync_to_async(may_still_see)(user, self.access_groups):
            await self._drop_and_close(CLOSE_ACCESS_CHANGED)

    async def _drop_and_close(self, code: int) -> None:
        # Leave the groups at once: nothing more reaches this socket even before the close completes.
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []
        self.stop_following_access()
        await self.close(code=code)

    async def _recheck_periodically(self) -> None:
        while True:
            await asyncio.sleep(settings.LIVE_ACCESS_RECHECK_SECONDS)
            with contextlib.suppress(Exception):  # a database hiccup: the next round re-checks
                await self.recheck_access()
