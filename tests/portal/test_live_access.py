"""Open live sockets follow access (issue 24): anonymous and cross-origin refused, sign-out and lost rights close."""
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client

from portal.asgi import application
from portal.live_access import CLOSE_ACCESS_CHANGED, CLOSE_SIGNED_OUT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@database_sync_to_async
def signed_in(username: str, role: str | None = "Viewer") -> tuple:
    """A user signed in through a real session (the cookie a browser would send), and its client."""
    user = UserFactory(username=username, role=role)
    client = Client()
    client.force_login(user)
    return user, client


def socket(client: Client | None, subscribe: str = "dashboard", origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, f"/ws/live/?subscribe={subscribe}", headers=headers)


async def receives(communicator, group: str, html: str) -> bool:
    await get_channel_layer().group_send(group, {"type": "live.html", "html": html})
    return await communicator.receive_from(timeout=2) == html


async def closed_with(communicator) -> int | None:
    message = await communicator.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    return message.get("code")


async def test_anonymous_is_refused_through_the_whole_stack():
    communicator = socket(None)
    connected, code = await communicator.connect()
    assert not connected and code == CLOSE_SIGNED_OUT


async def test_cross_origin_is_refused_even_with_a_valid_session():
    _, client = await signed_in("v")
    refused = socket(client, origin=(b"origin", b"https://evil.example"))
    connected, _ = await refused.connect()
    assert not connected
    missing = socket(client, origin=None)
    connected, _ = await missing.connect()
    assert not connected
    allowed = socket(client)
    connected, _ = await allowed.connect()
    assert connected and await receives(allowed, "dashboard", "<p>ok</p>")
    await allowed.disconnect()


async def test_sign_out_closes_that_sessions_sockets_and_no_other():
    user, first = await signed_in("v")
    second = Client()
    await database_sync_to_async(second.force_login)(user)
    mine, other = socket(first), socket(second)
    assert (await mine.connect())[0] and (await other.connect())[0]
    await database_sync_to_async(first.post)("/logout/")
    assert await closed_with(mine) == CLOSE_SIGNED_OUT
    assert await receives(other, "dashboard", "<p>still here</p>")  # the other browser stays signed in
    reconnect = socket(first)
    connected, code = await reconnect.connect()
    assert not connected and code == CLOSE_SIGNED_OUT
    await other.disconnect()


async def test_losing_a_role_closes_within_seconds_and_the_reconnect_joins_only_what_is_left():
    user, client = await signed_in("o", role="Operator")
    communicator = socket(client, "dashboard,commands")
    assert (await communicator.connect())[0]
    assert await receives(communicator, "commands", "<p>c</p>")

    @database_sync_to_async
    def take_role():
        user.groups.remove(Group.objects.get(name="Operator"))

    await take_role()
    assert await closed_with(communicator) == CLOSE_ACCESS_CHANGED
    again = socket(client, "dashboard,commands")
    assert (await again.connect())[0]  # still signed in: only the user's own group is joined
    await get_channel_layer().group_send("commands", {"type": "live.html", "html": "<p>c</p>"})
    assert await again.receive_nothing(timeout=0.3)
    await again.disconnect()


async def test_a_role_losing_a_permission_closes_its_members_sockets():
    _, client = await signed_in("v")
    communicator = socket(client, "recordings")
    assert (await communicator.connect())[0]

    @database_sync_to_async
    def strip_viewer_role():
        from django.contrib.auth.models import Permission

        Group.objects.get(name="Viewer").permissions.remove(Permission.objects.get(codename="view_recording"))

    await strip_viewer_role()
    assert await closed_with(communicator) == CLOSE_ACCESS_CHANGED


async def test_deactivating_the_user_closes_its_sockets():
    user, client = await signed_in("v")
    communicator = socket(client)
    assert (await communicator.connect())[0]

    @database_sync_to_async
    def deactivate():
        user.is_active = False
        user.save()

    await deactivate()
    assert await closed_with(communicator) == CLOSE_SIGNED_OUT


async def test_a_session_ended_without_any_signal_is_noticed_by_the_periodic_recheck(settings):
    settings.LIVE_ACCESS_RECHECK_SECONDS = 0.2
    _, client = await signed_in("v")
    communicator = socket(client)
    assert (await communicator.connect())[0]
    await database_sync_to_async(lambda: Session.objects.all().delete())()  # e.g. expired and cleared
    assert await closed_with(communicator) == CLOSE_SIGNED_OUT


async def test_unrelated_changes_leave_sockets_open():
    user, client = await signed_in("v")
    communicator = socket(client)
    assert (await communicator.connect())[0]

    @database_sync_to_async
    def rename():
        user.first_name = "Vera"
        user.save()

    await rename()
    assert await receives(communicator, "dashboard", "<p>still</p>")
    await communicator.disconnect()
