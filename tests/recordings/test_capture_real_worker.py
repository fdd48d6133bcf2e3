"""Recording capture across a real Celery worker (issue 27): the download task runs on the downloads queue."""
import pytest

from recordings.models import Recording
from tests.real_worker import wait_until
from tests.recordings.conftest import AUDIO, AUDIO_SHA256, FILES, stored_files

pytestmark = [pytest.mark.django_db, pytest.mark.real_worker]


def test_a_saved_recording_is_downloaded_and_stored_by_the_worker(real_worker, post_webhook, event_doc, telnyx,
                                                                   recording_storage_dir):
    media = telnyx.get(f"{FILES}/conf.mp3").respond(200, content=AUDIO, headers={"content-type": "audio/mpeg"})

    post_webhook(event_doc("conference.recording.saved", recording_urls={"mp3": f"{FILES}/conf.mp3"}))

    recording = wait_until(
        lambda: Recording.objects.filter(status=Recording.Status.STORED).first(), what="the recording being stored"
    )
    assert (recording.recording_id, recording.size_bytes, recording.sha256) == ("rec-1", len(AUDIO), AUDIO_SHA256)
    assert media.call_count == 1 and recording.download_attempts == 1
    files = stored_files(recording_storage_dir)
    assert len(files) == 1 and files[0].read_bytes() == AUDIO
