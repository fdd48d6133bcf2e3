"""Faults against the production profile: Procfile.production's granian, Celery workers and beat on PostgreSQL + Redis.

Each test starts the processes it needs (tests/resilience/production.py) and a fake Telnyx over HTTP,
counts what Telnyx received and what the database holds, and compares final states with a run that
had no fault. Slow (processes started and stopped): `make resilience` runs them.
"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.ops.test_two_processes import wait_for
from tests.resilience.production import (
    CONFERENCE,
    call_states,
    call_story,
    deliver,
    issue_speak,
)
from tests.resilience.proxy import FaultProxy
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.resilience_full]
CALLS = 3
COMMANDS = 3


def _all_applied(prefix: str, count: int):
    events = WebhookEvent.objects.filter(event_id__startswith=f"{prefix}-")
    return events.count() == count and not events.filter(status__in=["pending", "failed"]).exists()


def _tally_events(resilience, prefix: str, sent: int) -> list[tuple[str, int]]:
    """Record lost (sent but not processed) and doubled (applied more than once) events; return (status, attempts)."""
    events = WebhookEvent.objects.filter(event_id__startswith=f"{prefix}-")
    resilience.lost(sent - events.filter(status=WebhookEvent.Status.PROCESSED).count())
    resilience.doubled(events.filter(attempts__gt=1).count())
    return sorted(Counter(events.values_list("status", "attempts")).items())


@pytest.mark.resilience("Events worker stopped, then started")
def test_events_worker_stopped_while_webhooks_and_commands_arrive_then_started_loses_and_doubles_nothing(production, resilience):
    stack = production
    user = stack.setup_user()
    web = stack.start_web_process("web")
    stack.start_entry("events", "events")
    stack.start_entry("commands", "commands")

    # The run without the outage: the same calls' webhooks, applied as they arrive.
    reference = [doc for n in range(CALLS) for doc in call_story("ref", n)]
    assert [deliver(web, doc).status_code for doc in reference] == [200] * len(reference)
    wait_for(lambda: _all_applied("ref", len(reference)), "the reference run to be applied", stack)

    stack.stop_process("events")
    outage = [doc for n in range(CALLS) for doc in call_story("out", n)]
    answers = [deliver(web, doc) for doc in outage]
    commands = [issue_speak(web, user["token"], f"during the outage {n}") for n in range(COMMANDS)]
    time.sleep(2)
    pending_during = WebhookEvent.objects.filter(event_id__startswith="out-", status="pending").count()

    stack.start_entry("events", "events")
    wait_for(lambda: _all_applied("out", len(outage)), "the events stored during the outage to be applied", stack)

    def finished():
        found = [httpx.get(f"{web}/api/v1/commands/{c['id']}/", timeout=10,
                           headers={"Authorization": f"Token {user['token']}"}).json() for c in commands]
        return all(c["status"] in ("succeeded", "failed") for c in found) and found

    done = wait_for(finished, "every command to finish", stack)
    sent = Counter(body["command_id"] for body in stack.telnyx.posts_to(f"/v2/conferences/{CONFERENCE}/actions/speak"))
    resilience.tried(len(outage) + len(commands))
    resilience.server_errors(sum(1 for a in answers if a is None or a.status_code >= 500))
    outcome = _tally_events(resilience, "out", len(outage))
    resilience.lost(sum(1 for c in commands if sent[c["command_id"]] == 0))
    resilience.doubled(sum(n - 1 for n in sent.values() if n > 1))

    assert [a.status_code for a in answers] == [200] * len(outage)
    assert pending_during == len(outage)  # the outage was real: stored, not applied
    assert outcome == [((WebhookEvent.Status.PROCESSED, 1), len(outage))]
    assert call_states("out") == call_states("ref") and len(call_states("ref")) == CALLS
    assert [(c["status"], c["attempts"]) for c in done] == [("succeeded", 1)] * COMMANDS
    assert sent == Counter({c["command_id"]: 1 for c in commands})


@pytest.mark.resilience("PostgreSQL briefly unavailable")
def test_postgresql_down_answers_503_writes_nothing_and_redeliveries_are_stored_once(production, resilience):
    stack = production
    host, port = stack.target_of("DATABASE_URL")
    proxy = FaultProxy(host, port)
    try:
        # The pool gives up after 3 s, so a delivery during the outage is answered 503 quickly.
        web = stack.start_web_process("web", DATABASE_URL=stack.url_through("DATABASE_URL", proxy.port),
                                      DATABASE_POOL_TIMEOUT="3")
        stack.start_entry("events", "events")
        before = [doc for doc in call_story("pgok", 0)]
        assert [deliver(web, doc).status_code for doc in before] == [200] * len(before)

        proxy.refuse()
        story = call_story("pgdown", 0)
        with ThreadPoolExecutor(4) as pool:
            during = list(pool.map(lambda doc: deliver(web, doc), story))
        stored_during = WebhookEvent.objects.filter(event_id__startswith="pgdown-").count()

        proxy.forward()
        # Telnyx redelivers what got a 5xx until it gets a 2xx (the pool reconnects within seconds); two
        # senders at once here, so each event also arrives twice.
        with ThreadPoolExecutor(4) as pool:
            redelivered = list(pool.map(lambda doc: _redeliver_until_accepted(web, doc), story + story))
        wait_for(lambda: _all_applied("pgdown", len(story)), "the redelivered events to be applied", stack)
    finally:
        proxy.close()

    final = [answers[-1] for answers in redelivered]
    resilience.tried(len(story))
    # 503 is the answer asked for while the database is out; any other 5xx is a server error.
    resilience.server_errors(sum(1 for a in during + [a for answers in redelivered for a in answers]
                                 if a is not None and a.status_code >= 500 and a.status_code != 503))
    outcome = _tally_events(resilience, "pgdown", len(story))
    assert [a.status_code if a is not None else None for a in during] == [503] * len(story)
    assert stored_during == 0  # nothing half-written
    assert [a.status_code for a in final] == [200] * len(final)
    stored = Counter(doc["data"]["id"] for doc, a in zip(story + story, final, strict=True) if a.json()["stored"])
    assert stored == Counter({doc["data"]["id"]: 1 for doc in story})  # each stored by exactly one delivery
    assert outcome == [((WebhookEvent.Status.PROCESSED, 1), len(story))]
    assert call_states("pgdown")["0"]["state"] == "hangup" and len(call_states("pgdown")["0"]["digits"]) == 2


def _redeliver_until_accepted(web: str, document: dict, within: float = 60) -> list:
    """Deliver as Telnyx retries: again after a 5xx or no answer, a second apart; every answer, in order."""
    answers = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        answers.append(deliver(web, document))
        if answers[-1] is not None and answers[-1].status_code < 500:
            break
        time.sleep(1)
    return answers


@pytest.mark.resilience("Duplicate deliveries to two web processes")
def test_the_same_webhook_three_times_at_once_to_two_web_processes_is_applied_once(production, resilience):
    stack = production
    webs = [stack.start_web_process("web1"), stack.start_web_process("web2")]
    stack.start_entry("events", "events")
    story = call_story("dup", 0)

    with ThreadPoolExecutor(6) as pool:
        answers = [pool.map(lambda web, doc=doc: deliver(web, doc), webs * 3) for doc in story]
        answers = [list(group) for group in answers]
    wait_for(lambda: _all_applied("dup", len(story)), "the events to be applied", stack)

    flat = [a for group in answers for a in group]
    resilience.tried(len(flat))
    resilience.server_errors(sum(1 for a in flat if a is None or a.status_code >= 500))
    outcome = _tally_events(resilience, "dup", len(story))
    states = call_states("dup")
    resilience.doubled(max(0, len(states.get("0", {}).get("digits", [])) - 2))

    assert [a.status_code for a in flat] == [200] * len(flat)
    assert [sum(a.json()["stored"] for a in group) for group in answers] == [1] * len(story)
    assert outcome == [((WebhookEvent.Status.PROCESSED, 1), len(story))]
    assert [d for d, _ in states["0"]["digits"]] == ["2", "3"]


@pytest.mark.resilience("Events delivered in reverse order")
def test_a_calls_events_delivered_in_reverse_order_end_in_the_same_state_as_in_order(production, resilience):
    stack = production
    web = stack.start_web_process("web")
    stack.start_entry("events", "events")
    in_order = [doc for n in range(CALLS) for doc in call_story("fwd", n)]
    reverse = [doc for n in range(CALLS) for doc in reversed(call_story("rev", n))]

    answers = [deliver(web, doc) for doc in in_order] + [deliver(web, doc) for doc in reverse]
    wait_for(lambda: _all_applied("fwd", len(in_order)) and _all_applied("rev", len(reverse)),
             "both runs to be applied", stack)

    resilience.tried(len(reverse))
    resilience.server_errors(sum(1 for a in answers if a is None or a.status_code >= 500))
    _tally_events(resilience, "rev", len(reverse))
    forward, backward = call_states("fwd"), call_states("rev")
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert len(forward) == CALLS and forward["0"]["state"] == "hangup"
    assert backward == forward


@pytest.mark.resilience("Redis hung or down: production processes")
@pytest.mark.parametrize("fault", ["hang", "refuse"])
def test_redis_hung_or_down_webhooks_are_answered_at_once_stored_and_applied_when_it_is_back(production, resilience, fault):
    stack = production
    proxy = FaultProxy(*stack.target_of("REDIS_URL"))
    try:
        through = {"REDIS_URL": stack.url_through("REDIS_URL", proxy.port), "REDIS_TIMEOUT_SECONDS": "0.5"}
        web = stack.start_web_process("web", **through)
        stack.start_entry("events", "events", **through)
        warm = call_story(f"redis-{fault}-warm", 0)
        assert [deliver(web, doc).status_code for doc in warm] == [200] * len(warm)
        wait_for(lambda: _all_applied(f"redis-{fault}-warm", len(warm)), "the first call to be applied", stack)

        getattr(proxy, fault)()
        story = call_story(f"redis-{fault}", 0)
        timed = []
        for doc in story:
            started = time.monotonic()
            timed.append((deliver(web, doc, timeout=10), time.monotonic() - started))
            time.sleep(0.3)  # a trickle: each delivery nudges while Redis is out
        stored_during = WebhookEvent.objects.filter(event_id__startswith=f"redis-{fault}-0-").count()
        applied_during = WebhookEvent.objects.filter(event_id__startswith=f"redis-{fault}-0-", status="processed").count()

        proxy.forward()
        after = call_story(f"redis-{fault}-after", 0)
        answers_after = [deliver(web, doc) for doc in after]
        wait_for(lambda: _all_applied(f"redis-{fault}-0", len(story)) and _all_applied(f"redis-{fault}-after", len(after)),
                 "what was stored during the fault to be applied once Redis is back", stack, timeout=90)
    finally:
        proxy.close()

    answers = [a for a, _ in timed] + answers_after
    resilience.tried(len(story))
    resilience.server_errors(sum(1 for a in answers if a is None or a.status_code >= 500))
    outcome = _tally_events(resilience, f"redis-{fault}-0", len(story))
    slowest = max(elapsed for _, elapsed in timed)
    assert [a.status_code if a is not None else None for a in answers] == [200] * len(answers)
    assert stored_during == len(story) and applied_during == 0
    assert slowest < 0.5, f"a delivery took {slowest:.2f} s while Redis was {fault}"
    assert outcome == [((WebhookEvent.Status.PROCESSED, 1), len(story))]
    assert call_states(f"redis-{fault}")["0"]["state"] == "hangup"
