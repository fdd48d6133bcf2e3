"""The permission matrix for live groups (issue 24): each role receives exactly the groups README's table allows."""
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from portal.consumers import MAX_GROUPS
from portal.live import GROUP_PERMISSIONS
from portal.routing import websocket_urlpatterns
from tests.factories import UserFactory
from tests.portal.roles_table import ADMIN_MODELS, GROUPS, ROLES, ROWS

pytestmark = pytest.mark.django_db(transaction=True)
# One group of each kind a page can ask for (ids need not exist: the permission is the kind's).
SAMPLE_GROUPS = {
    "dashboard": "dashboard", "commands": "commands", "events": "events", "conferences": "conferences",
    "conference": "conference.conf-1", "queues": "queues", "queue": "queue.support", "calls": "calls",
    "call": "call.abc123", "recordings": "recordings", "recording": "recording.7", "alerts": "alerts",
}


def expected_groups(role: str) -> set[str]:
    allowed = {group for head, group in SAMPLE_GROUPS.items() if role in ROWS[GROUPS[head]]}
    allowed |= {f"admin.{model}" for model, rules in ADMIN_MODELS.items() if role in ROWS[rules["view"]]}
    return allowed


def all_groups() -> list[str]:
    return list(SAMPLE_GROUPS.values()) + [f"admin.{model}" for model in ADMIN_MODELS]


def test_every_group_kind_has_a_rule():
    assert set(GROUP_PERMISSIONS) == set(GROUPS) == set(SAMPLE_GROUPS) | {"admin"}


async def received_by(user, groups: list[str]) -> set[str] | None:
    """Open sockets asking for `groups`, publish one message to each, return the groups heard (None: refused)."""
    router = URLRouter(websocket_urlpatterns)
    heard: set[str] = set()
    for start in range(0, len(groups), MAX_GROUPS):
        chunk = groups[start:start + MAX_GROUPS]
        communicator = WebsocketCommunicator(router, f"/ws/live/?subscribe={','.join(chunk)}")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        if not connected:
            return None
        for group in chunk:
            await get_channel_layer().group_send(group, {"type": "live.html", "html": group})
        while not await communicator.receive_nothing(timeout=0.2):
            heard.add(await communicator.receive_from())
        await communicator.disconnect()
    return heard


async def test_each_role_hears_exactly_the_groups_it_may_view():
    assert await received_by(AnonymousUser(), all_groups()) is None
    for role in ROLES[1:]:
        user = await database_sync_to_async(UserFactory)(username=role.lower(), role=role)
        assert await received_by(user, all_groups()) == expected_groups(role), role
