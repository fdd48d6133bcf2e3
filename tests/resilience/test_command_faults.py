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
def quick_backoff(monkeypatch):
    """Eager tasks ignore countdowns anyway; keep the delays recorded small so the retry window is not the limit."""
    monkeypatch.setattr(services, "backoff_seconds", lambda attempts, retry_after: min(retry_after or 0.01, 5))


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
