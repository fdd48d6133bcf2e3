"""A second sandbox run against the same portal database (issue 29): its webhooks are new, the first run's ghosts close.

`make run` keeps `var/` (the database, the signing key) between runs while the sandbox starts a new world.
Both runs here use the seed `make run` always used (1), so a sandbox that repeats its ids fails this test.
"""
import contextlib
import time

import httpx
import pytest
from nacl.signing import SigningKey

from calls.models import Call
from conferencing.models import Conference
from portal import gateway
from portal.selectors import dashboard_counters
from portal.tasks import sync_on_start
from queues.models import QueuedCall
from sandbox.app import create_app
from sandbox.webhooks import public_key_b64
from sandbox.world import World
from tests.sandbox.conftest import Receiver, ServerThread
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=False)
KEY = SigningKey.generate()  # var/sandbox-ed25519.key: the same in both runs


@contextlib.contextmanager
def sandbox_run(settings, seed: int = 1):
    """One `make run`'s sandbox: a fresh app and world; the portal's gateway and webhook key pointed at it."""
    receiver = Receiver()
    with ServerThread(receiver.app) as hook:
        app = create_app(key=KEY, webhook_url=f"{hook.url}/webhooks/telnyx/", world=World(seed=seed), pace=0.0)
        with ServerThread(app) as server:
            settings.TELNYX_BASE_URL = f"{server.url}/v2"
            settings.TELNYX_PUBLIC_KEY = public_key_b64(KEY)
            gateway._client.cache_clear()
            yield server.url, app, receiver


def leave_things_active(url: str) -> None:
    """What a run leaves behind when it is stopped: a conference of two, a caller in line, a plain call."""
    def start(**options) -> str:
        return httpx.post(f"{url}/_sandbox/calls", json=options).json()["data"]["call_control_id"]

    host, guest = start(), start()
    auth = {"Authorization": "Bearer sandbox"}
    conference = httpx.post(f"{url}/v2/conferences", json={"call_control_id": host, "name": "Standup"}, headers=auth).json()
    httpx.post(f"{url}/v2/conferences/{conference['data']['id']}/actions/join", json={"call_control_id": guest}, headers=auth)
    start(queue="support")
    start()


def deliver_to_portal(app, receiver, client, capture) -> list[tuple[str, int]]:
    """Wait for the run's webhooks, then hand each to the portal byte for byte: (event id, status answered)."""
    dispatcher = app.state.dispatcher
    deadline = time.monotonic() + 10
    # Settled: nothing pending and everything sent received, for a while. A delivery in flight is in neither
    # list (popped from `pending`, added to `sent` once answered): that moment looked settled (CI saw 11 of 12).
    settled_since = None
    while time.monotonic() < deadline:
        settled = not dispatcher.pending and len(receiver.deliveries) >= len(dispatcher.sent)
        if not settled:
            settled_since = None
        elif settled_since is None:
            settled_since = time.monotonic()
        elif time.monotonic() - settled_since >= 0.5:
            break
        time.sleep(0.02)
    answered = []
    for delivery in list(receiver.deliveries):
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery["headers"].items() if k.startswith("telnyx-")}
        with capture(execute=True):
            response = client.post("/webhooks/telnyx/", data=delivery["body"], content_type="application/json", **headers)
        answered.append((httpx.Response(200, content=delivery["body"]).json()["data"]["id"], response.status_code))
    receiver.deliveries.clear()
    return answered


def live_counts() -> tuple[int, int, int]:
    counters = dashboard_counters()
    return counters["active_calls"], counters["active_conferences"], counters["waiting_calls"]


@pytest.mark.resilience("Sandbox restarted on a kept database")
def test_second_run_is_stored_applied_and_the_first_runs_ghosts_close(
    settings, client, django_capture_on_commit_callbacks, resilience,
):
    with sandbox_run(settings) as (url, app, receiver):
        leave_things_active(url)
        first = deliver_to_portal(app, receiver, client, django_capture_on_commit_callbacks)
        first_calls = set(Call.objects.values_list("call_control_id", flat=True))
        first_conference = Conference.objects.get()
    assert {status for _, status in first} == {200}
    assert live_counts() == (4, 1, 1)  # what the stopped run leaves the portal holding

    with sandbox_run(settings) as (url, app, receiver):
        leave_things_active(url)
        second = deliver_to_portal(app, receiver, client, django_capture_on_commit_callbacks)
        stored = dict(WebhookEvent.objects.filter(event_id__in=[i for i, _ in second]).values_list("event_id", "status"))
        repeated = {i for i, _ in second} & {i for i, _ in first}
        resilience.tried(len(second))
        resilience.lost(len(second) - len(stored))
        second_calls = set(WebhookEvent.objects.filter(event_id__in=stored).exclude(call_control_id="")
                           .values_list("call_control_id", flat=True))
        # An event id or a leg of the first run met again: the second run's webhooks taken for the first run's.
        resilience.doubled(len(repeated) + len(second_calls & first_calls))
        resilience.server_errors(sum(1 for _, status in second if status >= 500))

        assert len(second) == len(first) and not repeated, "the second run repeated the first run's event ids"
        assert second_calls and not second_calls & first_calls, "the second run reused the first run's legs"
        assert set(stored.values()) == {WebhookEvent.Status.PROCESSED}, stored
        second_conference = Conference.objects.exclude(pk=first_conference.pk).get()
        assert second_conference.status == Conference.Status.IN_PROGRESS
        assert live_counts() == (8, 2, 2)  # both runs' legs, until the start sync asks the new sandbox

        with django_capture_on_commit_callbacks(execute=True):
            outcome = sync_on_start.apply().get()
        assert outcome["calls"] == {"checked": 8, "alive": 4, "closed": 4}, outcome
        snapshot = httpx.get(f"{url}/_sandbox/state").json()

    first_conference.refresh_from_db()
    assert first_conference.status == Conference.Status.COMPLETED
    assert not Call.objects.filter(call_control_id__in=first_calls).exclude(state=Call.State.HANGUP).exists()
    assert not QueuedCall.objects.filter(call_control_id__in=first_calls, left_at__isnull=True).exists()
    # The dashboard counts what the new sandbox has live, and nothing else.
    assert live_counts() == (snapshot["calls_alive"], snapshot["conferences_active"], snapshot["queued"]) == (4, 1, 1)
