"""Back-fill derived columns of rows saved before capture existed; a full-text index on PostgreSQL only."""
from django.db import migrations
from django.db.models import F

# Must be the very expression SearchVector("text", config="english") compiles to, or the planner skips it.
INDEX = (
    "CREATE INDEX IF NOT EXISTS recordings_transcription_fts ON recordings_transcription "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
)


def backfill(apps, schema_editor):
    Recording = apps.get_model("recordings", "Recording")
    Recording.objects.exclude(conference_id="").update(source="conference")
    Recording.objects.filter(started_at__isnull=False).update(recorded_at=F("started_at"))
    Recording.objects.filter(started_at__isnull=True).update(recorded_at=F("saved_at"))
    Recording.objects.update(urls_received_at=F("saved_at"))
    for recording in Recording.objects.filter(started_at__isnull=False, ended_at__isnull=False).only("started_at", "ended_at"):
        seconds = max(0, int((recording.ended_at - recording.started_at).total_seconds()))
        Recording.objects.filter(pk=recording.pk).update(duration_seconds=seconds)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS recordings_transcription_fts")


class Migration(migrations.Migration):

    dependencies = [("recordings", "0002_capture_playback_retention")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]
