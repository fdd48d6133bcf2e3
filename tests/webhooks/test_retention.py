"""Retention of stored webhooks (issue 32): never a pending or failed event; archive, drop, load back."""
import json
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from webhooks import archive, tasks, time_partitions
from webhooks.models import ArchiveHold, WebhookEvent
from webhooks.retention import events_purge

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status
POSTGRES = connection.vendor == "postgresql"


def stored(event_id, *, status=Status.PROCESSED, days_ago=0, event_type="call.answered"):
    event = WebhookEvent.objects.create(
        event_id=event_id, event_type=event_type, raw_body=json.dumps({"data": {"id": event_id}}),
        payload={"call_control_id": f"v3:{event_id}", "n": 1}, call_control_id=f"v3:{event_id}", status=status,
        occurred_at=timezone.now() - timedelta(days=days_ago), attempts=1,
    )
    # auto_now_add ignores a given time; the update moves the row (and makes its partition on PostgreSQL)
    # at noon UTC, so the events of one test share a day whatever the hour
    at = (timezone.now() - timedelta(days=days_ago)).astimezone(UTC).replace(hour=12) if days_ago else timezone.now()
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=at)
    return WebhookEvent.objects.get(pk=event.pk)


@pytest.fixture
def archive_dir(settings, tmp_path):
    location = tmp_path / "event-archive"
    settings.STORAGES = {
        **settings.STORAGES,
        "event_archive": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    return location


def test_pending_and_failed_events_are_never_deleted(settings):
    settings.EVENT_RETENTION_DAYS = 30
    old = {status: stored(f"old-{status}", status=status, days_ago=70) for status in Status.values}
    recent = stored("recent", days_ago=1)
    result = tasks.purge_old_events.delay().get()
    left = set(WebhookEvent.objects.values_list("event_id", flat=True))
    assert left == {"old-pending", "old-failed", "recent"}
    old_partition = time_partitions.partition_name(*time_partitions.span_of(timezone.now() - timedelta(days=70)))
    assert result["deleted"] == 2 and old_partition not in result["dropped"]  # it still holds waiting events
    # Once nothing in it waits, the old rows go too (on PostgreSQL with their whole partition).
    WebhookEvent.objects.filter(pk__in=[old["pending"].pk, old["failed"].pk]).update(status=Status.PROCESSED)
    result = events_purge()
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == [recent.event_id]
    assert result.deleted == 2
    if POSTGRES:
        assert old_partition in result.dropped and old_partition not in [p.name for p in time_partitions.partitions()]


def test_zero_keeps_every_event(settings):
    settings.EVENT_RETENTION_DAYS = 0
    stored("ancient", days_ago=900)
    assert events_purge().deleted == 0 and WebhookEvent.objects.count() == 1


def _rows(event_ids):
    fields = [f.attname for f in WebhookEvent._meta.concrete_fields]
    return list(WebhookEvent.objects.filter(event_id__in=event_ids).order_by("id").values(*fields))


def test_an_archived_day_round_trips(settings, archive_dir):
    settings.EVENT_RETENTION_DAYS = 30
    day_events = [stored(f"day-{n}", days_ago=70, status=Status.IGNORED if n == 2 else Status.PROCESSED) for n in range(3)]
    kept = stored("kept", status=Status.FAILED, days_ago=70)  # same day: stays in the database, not archived
    before = _rows([e.event_id for e in day_events])
    day = day_events[0].received_at.astimezone(UTC).date()

    result = events_purge()
    assert result.archived == 3 and result.deleted == 3
    assert not WebhookEvent.objects.filter(event_id__startswith="day-").exists()
    manifest = json.loads((archive_dir / "events" / day.isoformat() / "manifest.json").read_text())
    assert manifest["rows"] == 3 and len(manifest["parts"]) == 1
    assert (archive_dir / "events" / day.isoformat() / manifest["parts"][0]["name"]).exists()

    call_command("load_event_archive", day.isoformat(), "--keep-days", "2")
    assert _rows([e.event_id for e in day_events]) == before  # same ids, times, payloads, bodies, statuses
    assert ArchiveHold.objects.get(day=day).until > timezone.now() + timedelta(days=1)

    # Held: retention leaves the loaded day alone; after the hold it goes again, and is not archived twice.
    assert events_purge().deleted == 0 and len(_rows([e.event_id for e in day_events])) == 3
    result = events_purge(now=timezone.now() + timedelta(days=3))
    assert result.deleted == 3 and result.archived == 0
    assert json.loads((archive_dir / "events" / day.isoformat() / "manifest.json").read_text())["rows"] == 3
    assert WebhookEvent.objects.filter(pk=kept.pk).exists()


def test_a_tampered_part_is_refused_and_loads_nothing(settings, archive_dir):
    settings.EVENT_RETENTION_DAYS = 30
    event = stored("tampered", days_ago=70)
    day = event.received_at.astimezone(UTC).date()
    events_purge()
    manifest = archive.read_manifest(day)
    (archive_dir / "events" / day.isoformat() / manifest["parts"][0]["name"]).write_bytes(b"not what was written")
    with pytest.raises(Exception, match="does not match its manifest"):
        call_command("load_event_archive", day.isoformat())
    assert not WebhookEvent.objects.filter(event_id="tampered").exists()


def test_loading_a_day_never_archived_says_so(archive_dir):
    with pytest.raises(Exception, match="Nothing archived for 2020-01-02"):
        call_command("load_event_archive", "2020-01-02")


def test_without_an_archive_storage_nothing_is_written(settings, tmp_path):
    settings.EVENT_RETENTION_DAYS = 30
    stored("unarchived", days_ago=70)
    result = events_purge()
    assert result.deleted == 1 and result.archived == 0 and archive.archive_storage() is None


def test_the_admin_lists_and_filters_events_without_reading_every_row(client, administrator):
    stored("admin-a", event_type="call.answered")
    stored("admin-b", event_type="call.hangup")
    client.force_login(administrator)
    page = client.get("/admin/webhooks/webhookevent/", {"event_type": "call.hangup"}).content.decode()
    assert page.count('class="field-event_type"') == 1 and "call.hangup" in page
    assert client.get("/admin/webhooks/webhookevent/").content.decode().count('class="field-event_type"') == 2


@pytest.mark.skipif(not POSTGRES, reason="partitions are PostgreSQL's; SQLite deletes by date")
def test_a_large_partition_is_dropped_without_counting_it_row_by_row(settings, monkeypatch):
    """Above ESTIMATE_ABOVE rows the number dropped is PostgreSQL's estimate, not a scan beside the intake."""
    from webhooks import retention

    settings.EVENT_RETENTION_DAYS = 30
    for n in range(3):
        stored(f"old-{n}", days_ago=70)
    old_partition = time_partitions.partition_name(*time_partitions.span_of(timezone.now() - timedelta(days=70)))
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{old_partition}"')
        cursor.execute("UPDATE pg_class SET reltuples = 250000 WHERE relname = %s", [old_partition])
    monkeypatch.setattr(retention, "ESTIMATE_ABOVE", 100_000)
    result = events_purge()
    assert old_partition in result.dropped and result.deleted == 250_000
    assert not WebhookEvent.objects.filter(event_id__startswith="old-").exists()
