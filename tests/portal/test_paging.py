"""Large unfiltered lists are counted from PostgreSQL's statistics; everything else is counted exactly."""
import pytest
from django.db import connection

from portal import paging
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def test_filtered_or_non_postgresql_lists_are_not_estimated():
    assert paging.table_estimate(WebhookEvent.objects.filter(event_type="call.answered")) is None
    if connection.vendor != "postgresql":
        assert paging.table_estimate(WebhookEvent.objects.all()) is None
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE webhooks_webhookevent")  # never analyzed: no estimate (-1)
        assert paging.table_estimate(WebhookEvent.objects.all()) == 0


def test_a_large_estimate_replaces_the_count_on_pages_and_in_the_api(client, monkeypatch, administrator):
    monkeypatch.setattr(paging, "table_estimate", lambda queryset: 2_000_000 if not queryset.query.where.children else None)
    client.force_login(administrator)
    html = client.get("/events/").content.decode()
    assert "about 2000000 in all" in html and "Page 1 of 40000" in html
    assert client.get("/api/v1/events/").json()["count"] == 2_000_000
    # A filter makes it exact again (nothing matches here).
    assert client.get("/api/v1/events/?event_type=call.answered").json()["count"] == 0


def test_a_small_estimate_is_checked_by_counting(monkeypatch):
    monkeypatch.setattr(paging, "table_estimate", lambda queryset: 10)
    paginator = paging.EstimatingPaginator(WebhookEvent.objects.all(), 50)
    assert paginator.count == 0 and paginator.estimated is False


def test_a_filtered_count_on_postgresql_stops_at_the_cap(monkeypatch):
    """Issue 32: a filter matching millions of events is counted up to COUNT_CAP, then "more than"."""
    from django.utils import timezone

    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    for n in range(5):
        WebhookEvent.objects.create(event_id=f"cap-{n}", event_type="call.answered", raw_body="{}", payload={},
                                    received_at=timezone.now())
    filtered = WebhookEvent.objects.filter(event_type="call.answered").order_by("-received_at")
    paginator = paging.EstimatingPaginator(filtered, 2)
    if connection.vendor == "postgresql":
        assert (paginator.count, paginator.capped, paginator.num_pages) == (3, True, 2)
    else:
        assert (paginator.count, paginator.capped) == (5, False)
    assert paging.EstimatingPaginator(filtered.filter(event_id="cap-1"), 2).count == 1
