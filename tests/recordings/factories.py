"""Factories for recordings, transcriptions and stored audio."""
import hashlib

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from recordings.models import Recording, Transcription
from recordings.storage import recording_storage


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recording

    recording_id = factory.Sequence(lambda n: f"rec-{n}")
    call_control_id = factory.Sequence(lambda n: f"v3:call-{n}")
    call_session_id = factory.Sequence(lambda n: f"session-{n}")
    format = "mp3"
    channels = "single"
    started_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(minutes=3))
    ended_at = factory.LazyFunction(timezone.now)


class TranscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transcription

    transcription_id = factory.Sequence(lambda n: f"rt-{n}")
    recording = factory.SubFactory(RecordingFactory)
    status = "completed"
    text = "Hello there."


def stored_recording(content: bytes, **fields) -> Recording:
    """A recording whose audio is already in storage."""
    recording = RecordingFactory(**fields)
    name = recording_storage.save(f"{recording.recording_id}.mp3", ContentFile(content))
    Recording.objects.filter(pk=recording.pk).update(
        file=name, status=Recording.Status.STORED, size_bytes=len(content), content_type="audio/mpeg",
        sha256=hashlib.sha256(content).hexdigest(), stored_at=timezone.now(),
    )
    recording.refresh_from_db()
    return recording
