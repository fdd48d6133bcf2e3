"""Dialing under faults (issue 28): Telnyx throttling or failing the dial, webhooks duplicated and reordered.

Through the sandbox over HTTP: a dial must ring at most once (the sandbox counts the legs it created),
the dialed leg's webhooks must all be stored and applied (lost), and the portal must answer none with a 5xx.
"""
import httpx
import pytest

from calls.models import Call
from conferencing.models import Participant
from portal.commands import services
from portal.models import Command
from tests.calls.conftest import running_sandbox, sandbox, wired  # noqa: F401 (fixtures)
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
ME = "+15557770000"


@pytest.fixture(autouse=True)
def dialing_set_up(settings):
    settings.TELNYX_CONNECTION_ID = "sandbox-connection"
    settings.DIAL_FROM_NUMBER = "+15550000000"
    settings.DIAL_ALLOWED_PREFIXES = []


def deliver_all(box, client, capture, count) -> list[int]:
    """Hand the sandbox's deliveries (at least `count`) to the portal byte for byte; the statuses it answered."""
    box.receiver.events(wait_for=count)
    statuses = []
    for delivery in list(box.receiver.deliveries):
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery["headers"].items() if k.startswith("telnyx-")}
        with capture(execute=True):
            statuses.append(client.post("/webhooks/telnyx/", data=delivery["body"], content_type="application/json",
                                        **headers).status_code)
    box.receiver.deliveries.clear()
    return statuses


def sandbox_legs(box, **match) -> list[dict]:
    return [c for c in box.world.calls.values() if all(c.get(k) == v for k, v in match.items())]


def fault(box, **rule):
    httpx.post(f"{box.server.url}/_sandbox/faults", json=rule).raise_for_status()


@pytest.mark.resilience("Dialing: Telnyx throttles or fails the dial")
@pytest.mark.parametrize("status, retried", [(429, True), (503, False), (500, False)])
def test_a_dial_rings_at_most_once_whatever_telnyx_answers(status, retried, wired, client, supervisor, resilience,  # noqa: F811
                                                           django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    agent = wired.call()
    deliver_all(wired, client, capture, 2)
    fault(wired, path="^/calls$", method="POST", status=status, retry_after=0, count=1)
    with capture(execute=True):
        command = services.command_issue(action_name="call.listen_in", target=agent, params={"to": ME, "role": "monitor"},
                                         user=supervisor, door="api")
    command.refresh_from_db()
    # The sandbox lists only the requests that reached its handlers (not the faulted one).
    dials = [r for r in httpx.get(f"{wired.server.url}/_sandbox/requests").json()
             if r["path"] == "/calls" and r["body"].get("command_id") == str(command.command_id)]
    legs = sandbox_legs(wired, supervising=agent)
    resilience.tried(1)
    resilience.doubled(max(0, len(legs) - 1))
    assert command.attempts == (2 if retried else 1)  # a 429 is retried with the same command_id; a 5xx is not
    assert len(dials) == (1 if retried else 0)
    assert len(legs) == (1 if retried else 0)
    assert command.status == (Command.Status.SUCCEEDED if retried else Command.Status.OUTCOME_UNKNOWN)
    if retried:
        statuses = deliver_all(wired, client, capture, 2)
        resilience.server_errors(sum(1 for s in statuses if s >= 500))
        stored = WebhookEvent.objects.filter(call_control_id=legs[0]["call_control_id"]).values("event_type").distinct()
        resilience.lost(2 - stored.count())
        leg = Call.objects.get(call_control_id=legs[0]["call_control_id"])
        assert (leg.state, leg.supervised_call_control_id) == (Call.State.ANSWERED, agent)
        assert all(s == 200 for s in statuses)


@pytest.mark.resilience("Dialing: webhooks duplicated and reordered")
def test_dialed_legs_survive_duplicate_and_reordered_webhooks(wired, running_sandbox, client, operator, supervisor,  # noqa: F811
                                                             resilience,
                                                             django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    _, app = running_sandbox
    agent, host = wired.call(), wired.call()
    deliver_all(wired, client, capture, 4)
    conference_id = wired.client.conferences.create(call_control_id=host, name="Resilient room").data.id
    deliver_all(wired, client, capture, 2)
    app.state.dispatcher.faults.update(duplicate=20, reorder=20)
    with capture(execute=True):
        listen = services.command_issue(action_name="call.listen_in", target=agent, params={"to": ME, "role": "whisper"},
                                        user=supervisor, door="api")
        ring = services.command_issue(action_name="conference.dial_in", target=conference_id, params={"to": "+15558880000"},
                                      user=operator, door="api")
    listen.refresh_from_db()
    ring.refresh_from_db()
    listener = listen.response["data"]["call_control_id"]
    guest = ring.response["data"]["call_control_id"]
    # listener: initiated, answered; guest: initiated, answered, participant joined; each delivered twice.
    statuses = deliver_all(wired, client, capture, 10)
    expected = {("call.initiated", listener), ("call.answered", listener), ("call.initiated", guest),
                ("call.answered", guest), ("conference.participant.joined", guest)}
    stored = set(WebhookEvent.objects.filter(call_control_id__in=[listener, guest]).values_list("event_type", "call_control_id"))
    resilience.tried(len(expected))
    resilience.lost(len(expected - stored))
    resilience.server_errors(sum(1 for s in statuses if s >= 500))
    resilience.doubled(
        max(0, Call.objects.filter(supervised_call_control_id=agent).count() - 1)
        + max(0, Participant.objects.filter(conference__conference_id=conference_id, label="+15558880000").count() - 1)
        + max(0, len(sandbox_legs(wired, supervising=agent)) - 1)
    )
    assert len(statuses) >= 10  # every delivery came twice
    assert expected <= stored and all(s == 200 for s in statuses)
    leg = Call.objects.get(call_control_id=listener)
    assert (leg.state, leg.supervised_call_control_id, leg.supervisor_role) == (Call.State.ANSWERED, agent, "whisper")
    participant = Participant.objects.get(call_control_id=guest)
    assert participant.status == Participant.Status.JOINED
    assert Call.objects.get(call_control_id=guest).dialed_conference_id == conference_id
