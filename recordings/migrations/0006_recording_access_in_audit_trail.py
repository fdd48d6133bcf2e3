"""Plays and downloads move into the audit trail (issue 24): copy the old log there, then drop it."""
from django.db import migrations

KINDS = {"play": "recording_played", "download": "recording_downloaded", "zip": "recording_downloaded"}
LABELS = {"play": "Played", "download": "Downloaded", "zip": "Downloaded in a ZIP"}


def copy_to_audit(apps, schema_editor):
    RecordingAccess = apps.get_model("recordings", "RecordingAccess")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    batch = []
    for access in RecordingAccess.objects.select_related("recording").order_by("id").iterator(chunk_size=2000):
        recording_id = access.recording.recording_id
        batch.append(AuditEntry(
            at=access.at, kind=KINDS.get(access.action, "recording_played"), actor_id=access.user_id,
            username=access.username, door=access.door[:8], target=recording_id,
            summary=f"{LABELS.get(access.action, access.action)}: recording {recording_id}",
            detail={"recording": access.recording_id, "how": access.action},
        ))
        if len(batch) >= 2000:
            AuditEntry.objects.bulk_create(batch)
            batch = []
    AuditEntry.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ('recordings', '0005_dashboard_partial_indexes'),
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(copy_to_audit, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='RecordingAccess',
        ),
    ]
