"""Migration 0006: the old recording access log is copied into the audit trail, then dropped (issue 24)."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("recordings", "0005_dashboard_partial_indexes"), ("audit", "0001_initial")]
AFTER = [("recordings", "0006_recording_access_in_audit_trail")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_plays_and_downloads_move_into_the_audit_trail():
    apps = migrate(BEFORE)
    Recording = apps.get_model("recordings", "Recording")
    RecordingAccess = apps.get_model("recordings", "RecordingAccess")
    recording = Recording.objects.create(recording_id="rec-old")
    at = timezone.now() - timezone.timedelta(days=3)
    for action, door in [("play", "page"), ("download", "api"), ("zip", "admin")]:
        access = RecordingAccess.objects.create(recording=recording, user=None, username="sam", action=action, door=door)
        RecordingAccess.objects.filter(pk=access.pk).update(at=at)
    apps = migrate(AFTER)
    AuditEntry = apps.get_model("audit", "AuditEntry")
    copied = list(AuditEntry.objects.order_by("id").values_list("kind", "username", "door", "target", "at"))
    assert copied == [
        ("recording_played", "sam", "page", "rec-old", at),
        ("recording_downloaded", "sam", "api", "rec-old", at),
        ("recording_downloaded", "sam", "admin", "rec-old", at),
    ]
    assert "recordings_recordingaccess" not in connection.introspection.table_names()
