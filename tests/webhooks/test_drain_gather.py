"""A drain at a steady rate lets events gather into larger batches (webhooks/drain._gather, issue 25)."""
import time
from types import SimpleNamespace

import pytest

from webhooks import drain
from webhooks.models import WebhookEvent
from webhooks.tasks import process_pending

pytestmark = pytest.mark.django_db

GATHER = 0.2


@pytest.fixture
def naps(settings, monkeypatch):
    """The drain's sleeps, in order (it still sleeps them); no drain task is queued by the deliveries."""
    settings.WEBHOOK_BATCH_GATHER_SECONDS = GATHER
    settings.WEBHOOK_DRAIN_LINGER_SECONDS = 0
    settings.WEBHOOK_DRAIN_POLL_SECONDS = 0.005
    settings.WEBHOOK_NUDGE_SKIP_SECONDS = 0
    monkeypatch.setattr(process_pending, "delay", lambda *a, **k: None)
    taken = []

    def nap(seconds):
        taken.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(drain, "time", SimpleNamespace(monotonic=time.monotonic, sleep=nap))
    return taken


@pytest.fixture
def deliver(post_webhook, event_doc):
    def send(count: int) -> None:
        for i in range(count):
            assert post_webhook(event_doc("call.initiated", id=f"g{i}", call_control_id=f"v3:g{i}")).status_code == 200

    return send


def test_a_batch_of_a_handful_is_followed_by_a_wait_for_more(naps, deliver):
    deliver(drain.GATHER_FROM + 1)
    assert drain.events_drain(batch_size=200) == drain.GATHER_FROM + 1
    gathers = [n for n in naps if n > 0.05]
    assert len(gathers) == 1 and GATHER / 2 < gathers[0] <= GATHER  # until GATHER after the batch began
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == drain.GATHER_FROM + 1


def test_a_trickle_is_claimed_again_at_once(naps, deliver):
    deliver(drain.GATHER_FROM - 1)
    assert drain.events_drain(batch_size=200) == drain.GATHER_FROM - 1
    assert naps == [] or max(naps) <= 0.005


def test_a_full_batch_never_waits(naps, deliver):
    deliver(2 * drain.GATHER_FROM)
    assert drain.events_drain(batch_size=drain.GATHER_FROM) == 2 * drain.GATHER_FROM  # two full batches
    assert naps == [] or max(naps) <= 0.005
