"""Backpressure that shows (issue 25): "catching up" on every page while applying lags, and taken back after."""
import pytest
from django.core.cache import cache
from django.utils import timezone

from webhooks import drain, lag
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(lag, "_shown_at", float("-inf"))
    monkeypatch.setattr(lag, "_showing", False)


def test_a_lagging_batch_tells_every_page_and_a_caught_up_drain_takes_it_back(post_webhook, event_doc, listen, settings,
                                                                               monkeypatch, client, viewer):
    from webhooks.tasks import process_pending

    settings.WEBHOOK_LAG_NOTICE_SECONDS = 5
    monkeypatch.setattr(process_pending, "delay", lambda *a, **k: None)  # stored, applied below
    listen(lag.GROUP)
    post_webhook(event_doc("call.initiated", id="old"))
    WebhookEvent.objects.update(received_at=timezone.now() - timezone.timedelta(seconds=42))
    assert drain.events_drain() == 1
    (notice,) = listen.received(lag.GROUP)
    assert 'id="catching-up"' in notice and "about 42 s" in notice and "hidden" not in notice
    client.force_login(viewer)
    assert "Catching up: events are being applied about 42 s" in client.get("/calls/").content.decode()

    cache.delete(lag.LAG_KEY)  # no drain renewed it: applying caught up
    post_webhook(event_doc("call.answered", id="fresh"))
    assert drain.events_drain() == 1
    (cleared,) = listen.received(lag.GROUP)
    assert 'id="catching-up"' in cleared and "hidden" in cleared and "Catching up" not in cleared
    assert "Catching up" not in client.get("/calls/").content.decode()


def test_fresh_batches_say_nothing(post_webhook, event_doc, listen, settings):
    listen(lag.GROUP)
    post_webhook(event_doc("call.initiated"))
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert listen.received(lag.GROUP) == []
    assert lag.lag_seconds() is None
