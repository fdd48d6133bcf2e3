"""Redis hung (up, passing nothing) or down, in front of the intake and a drain: deliveries answered at once, nothing lost.

Redis is reached through a FaultProxy (tests/resilience/proxy.py), never stopped. The broker is the boundary
here: its sends are recorded and played as the events worker would (the production processes are
tested in test_production_faults.py).
"""
from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from redis.backoff import NoBackoff
from redis.retry import Retry

from portal.celery import app as celery_app
from tests.resilience.proxy import FaultProxy
from webhooks import drain, nudger
from webhooks.models import WebhookEvent
from webhooks.tasks import process_pending

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("REDIS_URL", "")
TIMEOUT = 0.2  # the test's REDIS_TIMEOUT_SECONDS: production's 1 s would only make the test slower
INTAKE_BUDGET_SECONDS = 0.05  # "a few ms" of the nudge, with a test client's own overhead around it


@pytest.fixture
def redis_behind_proxy(settings):
    """The cache (hence the kept client) on Redis through a FaultProxy, with production's options."""
    if not REDIS_URL:
        pytest.skip("the embedded profile has no Redis; CI runs this on PostgreSQL + Redis")
    target = urlsplit(REDIS_URL)
    proxy = FaultProxy(target.hostname, target.port or 6379)
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}",
        "OPTIONS": {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT, "retry": Retry(NoBackoff(), 1)},
    }}
    settings.WEBHOOK_NUDGE_SKIP_SECONDS = 0
    caches["default"].clear()
    yield proxy
    proxy.close()


@pytest.fixture
def broker(monkeypatch):
    """Tasks really queued (not eager), recorded at the broker boundary; `broker.deliver()` runs them as a worker."""
    sent = []
    celery_app.conf.task_always_eager = False  # tests/conftest.py sets it again for the next test
    monkeypatch.setattr(process_pending, "delay", lambda: sent.append("process_pending"))

    class Broker:
        def deliver(self) -> int:
            applied = 0
            while sent:
                sent.pop()
                applied += drain.events_drain()
            return applied

    Broker.sent = sent
    return Broker()


def _settle(seconds: float = 5) -> None:
    """Let the nudger thread finish what the deliveries asked (it waits out Redis's timeouts, not them)."""
    if nudger._nudger is not None:
        assert nudger._nudger.wait_idle(seconds)


@pytest.mark.resilience("Redis hung or down: webhook intake")
@pytest.mark.parametrize("fault", ["hang", "refuse"])
def test_redis_hung_or_down_costs_a_delivery_nothing_and_what_is_stored_is_applied_once_it_is_back(
    redis_behind_proxy, broker, post_webhook, event_doc, resilience, fault
):
    sent_ids = []

    def deliver(n: int):
        document = event_doc("call.initiated", id=f"redis-{fault}-{n}", call_control_id=f"v3:redis-{fault}-{n}")
        started = time.perf_counter()
        response = post_webhook(document)
        sent_ids.append(document["data"]["id"])
        return response, time.perf_counter() - started

    deliver(0)  # Redis up: the kept connection is open when the fault starts
    _settle()
    broker.deliver()
    getattr(redis_behind_proxy, fault)()
    during = [deliver(n) for n in range(1, 9)]
    _settle(10)
    stored_during = WebhookEvent.objects.filter(event_id__in=sent_ids).count()
    assert broker.sent == []  # nothing reached the broker while Redis was out

    redis_behind_proxy.forward()
    after = deliver(9)  # the first delivery after Redis is back nudges a drain, which takes everything
    _settle()
    broker.deliver()

    statuses = [r.status_code for r, _ in [*during, after]]
    events = WebhookEvent.objects.filter(event_id__in=sent_ids)
    resilience.tried(len(sent_ids))
    resilience.server_errors(sum(s >= 500 for s in statuses))
    resilience.lost(len(sent_ids) - events.filter(status=WebhookEvent.Status.PROCESSED).count())
    resilience.doubled(sum(e.attempts > 1 for e in events))

    assert statuses == [200] * 9
    assert stored_during == 9  # the first and the eight sent during the fault
    slowest = max(elapsed for _, elapsed in during)
    assert slowest < INTAKE_BUDGET_SECONDS, f"a delivery waited {slowest:.3f} s for Redis"
    assert sorted(events.values_list("status", "attempts")) == [(WebhookEvent.Status.PROCESSED, 1)] * 10


@pytest.mark.resilience("Redis hung or down: webhook drain")
def test_a_drain_under_a_hung_redis_ends_in_bounded_time_and_applies_what_is_pending(
    redis_behind_proxy, broker, post_webhook, event_doc, resilience
):
    for n in range(5):
        post_webhook(event_doc("call.initiated", id=f"hung-drain-{n}", call_control_id=f"v3:hung-drain-{n}"))
    _settle()
    broker.sent.clear()
    redis_behind_proxy.hang()

    started = time.monotonic()
    applied = drain.events_drain()
    elapsed = time.monotonic() - started

    events = WebhookEvent.objects.filter(event_id__startswith="hung-drain-")
    resilience.tried(5)
    resilience.lost(5 - events.filter(status=WebhookEvent.Status.PROCESSED).count())
    assert applied == 5
    # Each Redis call costs at most two timeouts (one retry); the drain makes a handful, never waits for good.
    assert elapsed < 20 * TIMEOUT, f"the drain took {elapsed:.1f} s"
    assert sorted(events.values_list("status", flat=True)) == [WebhookEvent.Status.PROCESSED] * 5


class StuckCache(LocMemCache):
    """A cache that takes a second for every call, as a Redis that is up but stuck (within its timeouts)."""

    def add(self, *args, **kwargs):
        time.sleep(1)
        return super().add(*args, **kwargs)

    def delete(self, *args, **kwargs):
        time.sleep(1)
        return super().delete(*args, **kwargs)


@pytest.mark.resilience("Redis hung or down: webhook intake")
def test_the_nudge_never_runs_on_the_request_path_whatever_the_cache(settings, broker, post_webhook, event_doc, resilience):
    """Any profile: a cache that takes a second per call delays the drain, never the answer."""
    settings.CACHES = {"default": {"BACKEND": "tests.resilience.test_redis_faults.StuckCache"}}
    settings.WEBHOOK_NUDGE_SKIP_SECONDS = 0
    started = time.perf_counter()
    response = post_webhook(event_doc("call.initiated", id="stuck-cache"))
    elapsed = time.perf_counter() - started
    _settle()
    sent = list(broker.sent)
    applied = broker.deliver()
    resilience.tried()
    resilience.server_errors(int(response.status_code >= 500))
    resilience.lost(1 - WebhookEvent.objects.filter(event_id="stuck-cache", status="processed").count())

    assert response.status_code == 200
    assert elapsed < 0.5, f"the delivery waited {elapsed:.2f} s for the cache"
    assert sent == ["process_pending"]  # the nudger did ask, after the answer
    assert applied == 1
