"""since / until take a whole day (pages) or an exact ISO date-time (the API), the same on every list."""
from datetime import UTC, datetime

import pytest

from calls.models import Call

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(db):
    Call.objects.create(call_control_id="v3:early", started_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    Call.objects.create(call_control_id="v3:late", started_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    Call.objects.create(call_control_id="v3:yesterday", started_at=datetime(2026, 11, 24, 23, 0, tzinfo=UTC))


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["call_control_id"] for row in response.json()["results"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("since=2026-11-25T09:10:00Z", ["v3:late"]),
        ("since=2026-11-25T09:10:00%2B00:00", ["v3:late"]),
        ("until=2026-11-25T09:10:00Z", ["v3:early", "v3:yesterday"]),
        ("since=2026-11-25", ["v3:early", "v3:late"]),
        ("until=2026-11-24", ["v3:yesterday"]),
        ("since=2026-11-25&until=2026-11-25", ["v3:early", "v3:late"]),
    ],
)
def test_calls_api_time_bounds(query, expected, calls, viewer, client):
    client.force_login(viewer)
    assert ids(client.get(f"/api/v1/calls/?{query}")) == expected


@pytest.mark.parametrize("path", ["/api/v1/calls/", "/api/v1/recordings/", "/api/v1/conferences/"])
def test_a_bad_time_bound_is_a_400_with_the_field_named(path, viewer, client):
    client.force_login(viewer)
    response = client.get(f"{path}?since=yesterday-ish")
    assert response.status_code == 400
    assert "since" in response.json()["extra"]["fields"]


@pytest.mark.parametrize("path", ["/api/v1/recordings/", "/api/v1/conferences/"])
def test_iso_date_times_are_accepted_everywhere(path, viewer, client):
    client.force_login(viewer)
    assert client.get(f"{path}?since=2026-11-25T09:10:00Z&until=2026-11-26").status_code == 200
