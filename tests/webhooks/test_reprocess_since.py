"""reprocess_events --since reads a day or a date-time as the API's since does (issue 30)."""
import warnings
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.filters import TIME_ERROR
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("America/New_York")


@pytest.fixture
def failed_events(settings, event_doc):
    settings.TIME_ZONE = "America/New_York"
    for n, received in enumerate([datetime(2026, 12, 3, 23, 30, tzinfo=ZONE), datetime(2026, 12, 4, 0, 30, tzinfo=ZONE)]):
        doc = event_doc("call.initiated", id=f"e-{n}")
        event = WebhookEvent.objects.create(
            event_id=f"e-{n}", event_type="call.initiated", raw_body="{}", payload=doc["data"]["payload"],
            status=WebhookEvent.Status.FAILED,
        )
        WebhookEvent.objects.filter(pk=event.pk).update(received_at=received)  # auto_now_add ignores a given time


def requeued(since, django_capture_on_commit_callbacks) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "received a naive datetime" was the symptom
        with django_capture_on_commit_callbacks(execute=True):
            call_command("reprocess_events", "--since", since)
    return set(WebhookEvent.objects.exclude(status=WebhookEvent.Status.FAILED).values_list("event_id", flat=True))


@pytest.mark.parametrize(
    "since", ["2026-12-04", "2026-12-04T00:00:00", "2026-12-04T05:00:00Z", "2026-12-04T05:00:00 00:00"]
)
def test_since_a_day_or_a_moment_in_the_portal_time_zone(since, failed_events, django_capture_on_commit_callbacks):
    assert requeued(since, django_capture_on_commit_callbacks) == {"e-1"}


def test_a_bad_since_says_what_it_takes():
    with pytest.raises(CommandError, match="Enter a date"):
        call_command("reprocess_events", "--since", "last tuesday")
    assert TIME_ERROR.startswith("Enter a date")
