"""Commands against a misbehaving Telnyx over real HTTP: each ends in the right state, none acts twice, none hangs.

Issue 23: a connection dropped after Telnyx read the request was taken for "never received" and resent
(one `conference.send_dtmf` reached the fake 5 times). Resend only where Telnyx de-duplicates the
`command_id` or the action is idempotent, or where the connection never opened; otherwise the command
ends "outcome unknown".
"""
import time

import pytest
from django.utils import timezone

from portal.commands import services
from portal.commands.tasks import sweep_stuck_commands
from portal.models import Command
from tests.resilience.fake_telnyx import Drop, FakeTelnyx, Ok, Slow, Status, unreachable_base_url

pytestmark = pytest.mark.django_db

CONF = "conf-faults"
DTMF = f"/v2/conferences/{CONF}/actions/send_dtmf"
PLAY = f"/v2/conferences/{CONF}/actions/play"
SPEAK = f"/v2/conferences/{CONF}/actions/speak"
MUTE = f"/v2/conferences/{CONF}/actions/mute"
DTMF_PARAMS = {"digits": "1234"}
SPEAK_PARAMS = {"payload": "Hello", "voice": "female"}


@pytest.fixture
def fake(settings):
    server = FakeTelnyx()
    settings.TELNYX_BASE_URL = server.base_url
    yield server
    server.close()


@pytest.fixture(autouse=True)
def delays(monkeypatch):
    """The backoff each retry was scheduled with (eager tasks run the retry at once, whatever the countdown)."""
    scheduled = []
    original = services.backoff_seconds

    def recording(attempts, retry_after):
        scheduled.append(original(attempts, retry_after))
        return scheduled[-1]

    monkeypatch.setattr(services, "backoff_seconds", recording)
    return scheduled


def issue(user, action, params, capture, target=CONF):
    with capture(execute=True):
        command = services.command_issue(action_name=action, target=target, params=params, user=user, door="api")
    command.refresh_from_db()
    return command


@pytest.mark.resilience("Telnyx: connection dropped after the request")
@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_dropped_connection_never_resends_an_action_that_could_act_twice(
    fake, operator, django_capture_on_commit_callbacks, resilience, reset
):
    fake.script(DTMF, Drop(reset=reset))
    command = issue(operator, "conference.send_dtmf", DTMF_PARAMS, django_capture_on_commit_callbacks)
    received = fake.received(DTMF)
    resilience.tried(1)
    resilience.doubled(len(received) - 1)
    assert received == [{"digits": "1234"}]
    assert command.status == Command.Status.OUTCOME_UNKNOWN
    assert command.attempts == 1 and command.finished_at is not None
    assert "after the request was sent" in command.error_detail


@pytest.mark.resilience("Telnyx: connection dropped after the request")
def test_dropped_connection_resends_with_the_same_command_id_where_telnyx_deduplicates(
    fake, operator, django_capture_on_commit_callbacks, resilience
):
    fake.script(SPEAK, Drop(), Ok())
    command = issue(operator, "conference.speak", SPEAK_PARAMS, django_capture_on_commit_callbacks)
    received = fake.received(SPEAK)
    resilience.tried(1)
    assert command.status == Command.Status.SUCCEEDED and command.attempts == 2
    assert [body["command_id"] for body in received] == [str(command.command_id)] * 2


@pytest.mark.resilience("Telnyx: stuck command swept")
def test_sweeper_does_not_resend_a_stuck_command_past_the_retry_window(fake, operator, settings, resilience):
    """A retry-safe command stuck running for longer than Telnyx de-duplicates: outcome unknown, nothing sent."""
    settings.COMMAND_MAX_RETRY_SECONDS = 120
    long_ago = timezone.now() - timezone.timedelta(minutes=30)
    command = Command.objects.create(action="conference.speak", target=CONF, params=SPEAK_PARAMS,
                                     status=Command.Status.RUNNING, attempts=1, started_at=long_ago, requested_by=operator)
    Command.objects.filter(pk=command.pk).update(created_at=long_ago)
    assert sweep_stuck_commands() == 1
    command.refresh_from_db()
    resilience.tried(1)
    resilience.doubled(len(fake.received(SPEAK)))
    assert fake.received(SPEAK) == []
    assert command.status == Command.Status.OUTCOME_UNKNOWN


@pytest.mark.resilience("Telnyx: stuck command swept")
def test_sweeper_resends_a_stuck_retry_safe_command_inside_the_window(fake, operator, settings, resilience):
    settings.COMMAND_MAX_RETRY_SECONDS = 120
    a_while_ago = timezone.now() - timezone.timedelta(seconds=60)
    command = Command.objects.create(action="conference.speak", target=CONF, params=SPEAK_PARAMS,
                                     status=Command.Status.RUNNING, attempts=1, started_at=a_while_ago, requested_by=operator)
    Command.objects.filter(pk=command.pk).update(created_at=a_while_ago)
    assert services.commands_sweep_stuck(stuck_after_seconds=30) == 1
    command.refresh_from_db()
    resilience.tried(1)
    assert command.status == Command.Status.SUCCEEDED and command.attempts == 2
    assert [b["command_id"] for b in fake.received(SPEAK)] == [str(command.command_id)]


@pytest.mark.resilience("Telnyx: stuck command swept")
def test_sweeper_never_resends_a_stuck_action_that_could_act_twice(fake, operator, settings, resilience):
    a_while_ago = timezone.now() - timezone.timedelta(seconds=60)
    command = Command.objects.create(action="conference.send_dtmf", target=CONF, params=DTMF_PARAMS,
                                     status=Command.Status.RUNNING, attempts=1, started_at=a_while_ago)
    Command.objects.filter(pk=command.pk).update(created_at=a_while_ago)
    assert services.commands_sweep_stuck(stuck_after_seconds=30) == 1
    command.refresh_from_db()
    resilience.tried(1)
    resilience.doubled(len(fake.received(DTMF)))
    assert fake.received(DTMF) == []
    assert command.status == Command.Status.OUTCOME_UNKNOWN
    assert "may or may not" in command.error_detail


# fault -> (script for the retry-safe speak, for send_dtmf which takes no command_id and is not idempotent)
# and what each ends as: (status, requests Telnyx received, words the command's page shows).
FAULTS = {
    "slow": (
        [Slow(1.5), Ok()], [Slow(1.5)],
        ("succeeded", 2, None), ("outcome_unknown", 1, "did not answer within 0.5 s"),
    ),
    "500": (
        [Status(500), Ok()], [Status(500)],
        ("succeeded", 2, None), ("outcome_unknown", 1, "Telnyx may or may not have acted"),
    ),
    "429": (
        [Status(429, headers={"Retry-After": "3"}), Ok()], [Status(429, headers={"Retry-After": "3"}), Ok()],
        ("succeeded", 2, None), ("succeeded", 2, None),
    ),
    "422": (
        [Status(422, {"errors": [{"title": "Conference has ended", "detail": "The conference is no longer active."}]})],
        [Status(422, {"errors": [{"title": "Conference has ended", "detail": "The conference is no longer active."}]})],
        ("failed", 1, "The conference is no longer active."), ("failed", 1, "The conference is no longer active."),
    ),
    "unreachable": (
        None, None,
        ("failed", 0, "Could not reach Telnyx; nothing was sent"),
        ("failed", 0, "Could not reach Telnyx; nothing was sent"),
    ),
    "dropped": (
        [Drop(), Ok()], [Drop()],
        ("succeeded", 2, None), ("outcome_unknown", 1, "broke after the request was sent"),
    ),
}


@pytest.mark.resilience("Telnyx faults: every command ends right, once")
@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_ends_each_command_in_the_right_state(
    fault, fake, operator, client, settings, django_capture_on_commit_callbacks, resilience, delays
):
    settings.TELNYX_TIMEOUT_SECONDS = 0.5
    settings.COMMAND_MAX_ATTEMPTS = 3
    speak_script, dtmf_script, speak_expected, dtmf_expected = FAULTS[fault]
    if fault == "unreachable":
        settings.TELNYX_BASE_URL = unreachable_base_url()
    else:
        fake.script(SPEAK, *speak_script)
        fake.script(DTMF, *dtmf_script)
    client.force_login(operator)
    for action, params, path, (status, requests, words) in (
        ("conference.speak", SPEAK_PARAMS, SPEAK, speak_expected),
        ("conference.send_dtmf", DTMF_PARAMS, DTMF, dtmf_expected),
    ):
        started = time.monotonic()
        command = issue(operator, action, params, django_capture_on_commit_callbacks)
        took = time.monotonic() - started
        received = fake.received(path)
        # Effects, not requests: Telnyx acts once per command_id (a resend with the same id is dropped), and a
        # 429 is a refusal whose resend is no double. Anything else Telnyx received beyond one effect is.
        refused_first = fault == "429"
        with_id = {body["command_id"] for body in received if body.get("command_id")}
        without_id = [body for body in received if not body.get("command_id")]
        effects = len(with_id) + max(0, len(without_id) - (1 if refused_first else 0))
        resilience.tried(1)
        resilience.doubled(max(0, effects - 1))
        resilience.lost(int(not command.is_finished))
        assert (command.status, len(received)) == (status, requests), (action, command.error_title, command.error_detail)
        assert took < 10, f"{action} under {fault} took {took:.1f} s"  # nothing hangs
        if action == "conference.speak" and received:
            assert {body["command_id"] for body in received} == {str(command.command_id)}  # every retry, the same id
        else:
            assert all("command_id" not in body for body in received)
        if fault == "unreachable":
            assert command.attempts == settings.COMMAND_MAX_ATTEMPTS and not command.maybe_delivered
        if fault == "429":
            assert delays and min(delays) >= 3  # Retry-After honoured
        page = client.get(f"/commands/{command.pk}/")
        resilience.server_errors(int(page.status_code >= 500))
        text = page.content.decode()
        assert page.status_code == 200 and command.get_status_display() in text
        if words:
            assert words in text, (fault, action)
        if status == "outcome_unknown":
            assert "Outcome unknown" in text and "Retry deliberately" in text
        api = client.get(f"/api/v1/commands/{command.pk}/").json()
        assert api["status"] == status
        delays.clear()
